/* main.c — `layerlab SUBCOMMAND ...`: dispatch and top-level help. Start reading here. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "io/files.h"

/* Standard output goes through a stream of our own whose writes remember the system's reason for a
 * failure, so that a full disk or a closed pipe ends the command with exit code 1 and that reason
 * ("No space left on device") however long ago the failed write happened. */
static int g_stdout_errno;

static ssize_t stdout_write(void *cookie, const char *buf, size_t n) {
    (void)cookie;
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(1, buf + done, n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            if (!g_stdout_errno) g_stdout_errno = w < 0 ? errno : EIO;
            return -1;
        }
        done += (size_t)w;
    }
    return (ssize_t)n;
}

static void checked_stdout(void) {
    cookie_io_functions_t io = {.write = stdout_write};
    FILE *f = fopencookie(NULL, "w", io);
    if (!f) return;   /* keep the C library's stdout: its errors are still caught by the final fflush */
    setvbuf(f, NULL, isatty(1) ? _IOLBF : _IOFBF, 1 << 16);
    stdout = f;
}

/* The command's exit code, made 1 if anything written to stdout was lost. */
static int finish(int rc) {
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("error writing standard output: %s", strerror(g_stdout_errno ? g_stdout_errno : EIO));
        return 1;
    }
    return rc;
}

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *what;
} commands[] = {
    {"info", cmd_info, "architecture, sizes and tensor types of a model"},
    {"tokenize", cmd_tokenize, "text -> token ids"},
    {"detokenize", cmd_detokenize, "token ids -> text"},
    {"generate", cmd_generate, "continue a prompt (llama2.c run.c semantics)"},
    {"logits", cmd_logits, "logits of every position as a .npy file"},
    {"embed", cmd_embed, "sentence embeddings (pooled hidden states) as a .npy file"},
    {"glue", cmd_glue, "frozen-encoder linear probe on SST-2 (Painters A.9), cross-validated"},
    {"ppl", cmd_ppl, "perplexity of a text file over consecutive windows"},
    {"convert", cmd_convert, "llama2.c checkpoint + tokenizer.bin -> GGUF"},
    {"tensor", cmd_tensor, "list tensors or dump one (dequantized) as .npy"},
    {"bench", cmd_bench, "prompt-processing and generation throughput"},
    {"plan", cmd_plan, "resolve a layer plan (order and passes) without running it"},
    {"export", cmd_export, "write a plan as a new GGUF (mergekit passthrough)"},
    {"probe", cmd_probe, "inside measurements: cosine, block-influence, attention-id, mlp-regions, intrinsic-dim"},
    {"regions-bound", cmd_regions_bound, "log10 of hyperplane-arrangement region counts R(N,d), R0(N,d)"},
    {"eval", cmd_eval, "benchmarks scored exactly as lm-evaluation-harness scores them"},
    {"study", cmd_study, "whole experiments, resumable: study painters (Transformer Layers as Painters)"},
};

static void usage(FILE *f) {
    fprintf(f, "layerlab %s — layer surgery and geometry of transformer language models\n\n"
               "usage: layerlab COMMAND [options]   (layerlab COMMAND --help for each)\n\ncommands:\n",
            LAYERLAB_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(f, "  %-13s %s\n", commands[i].name, commands[i].what);
    fprintf(f, "\nMODEL is a GGUF file, a Hugging Face model directory (config.json + model.safetensors) or a llama2.c\n"
               "checkpoint (with --tokenizer TOK.bin); architectures llama (and mistral), qwen2, qwen3, gemma3,\n"
               "gptneox, bert.\n"
               "Compute modes: the default (--exact) runs fp32 activations against dequantized weights, as\n"
               "PyTorch does on a dequantized model; --llamacpp converts activations to each weight type's\n"
               "dot-product type and keeps K/V in fp16, as llama.cpp does (faster, less accurate).\n"
               "Results go to stdout; messages and progress to stderr. Exit code 1 on any error.\n");
}

static int run(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 1;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("layerlab %s\n", LAYERLAB_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    return cli_error("unknown command '%s' (layerlab --help lists them)", argv[1]);
}

int main(int argc, char **argv) {
    checked_stdout();
    ll_files_install_cleanup();
    return finish(run(argc, argv));
}
