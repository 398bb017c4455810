/* cli.h — what the subcommands share: option parsing helpers, model opening, provenance. */
#ifndef LL_CLI_H
#define LL_CLI_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Each subcommand: argv[0] is the subcommand name. Returns the process exit code. */
int cmd_info(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_detokenize(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_logits(int argc, char **argv);
int cmd_ppl(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_tensor(int argc, char **argv);

/* Prints "layerlab: " + message to stderr and returns 1. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Option parsing: cli_arg(argc, argv, &i, "--name") returns the value after --name (advancing i) or
 * NULL after printing an error if it is missing. Numbers are parsed strictly (the whole string). */
const char *cli_value(int argc, char **argv, int *i);
int cli_parse_int(const char *opt, const char *s, long long lo, long long hi, long long *out);
int cli_parse_float(const char *opt, const char *s, double lo, double hi, double *out);

#endif
