/*
 * cli.h — subcommands of the `axial` program, one file per area.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_TOOLS_CLI_H
#define AXIAL_TOOLS_CLI_H

#include <stddef.h>

#include "axial/axial.h"

/* Each takes argv with argv[0] = the subcommand's name and returns the process exit status. */
int axial_cmd_attention(int argc, char **argv);
int axial_cmd_features(int argc, char **argv);
int axial_cmd_demo(int argc, char **argv);
int axial_cmd_gguf(int argc, char **argv);     /* cmd_gguf.c: `axial gguf show F` */
int axial_cmd_tokenize(int argc, char **argv); /* cmd_llm.c */
int axial_cmd_generate(int argc, char **argv); /* cmd_llm.c */
int axial_cmd_serve(int argc, char **argv);    /* cmd_serve.c: the OpenAI-compatible HTTP server */

/* The model `--model` defaults to: $AXIAL_MODEL, else the SmolLM2 file that scripts/fetch-model.sh
 * installs into the source tree's .venv. Writes the path into buf; 0 if found, -1 (with a message on
 * stderr saying how to fetch it) if not. cmd_llm.c. */
int axial_default_model(char *buf, size_t size);

/* The model commands' --device value: "cpu" or "cuda" (GPU 0) into *out; -1 (nothing written) for
 * anything else. cmd_llm.c. */
int axial_parse_model_device(const char *value, ax_device *out);

/* Refuses a value option given twice: last-wins had silently dropped the first of two --prompt. Scans
 * argv[1..] as the subcommands' parsers read it: a name in value_options (NULL-terminated) takes the
 * next argument as its value, whatever it looks like; "--" ends the options (a parser that takes "--"
 * must read nothing after it as an option); --help or -h in an option's place ends the scan (help
 * wins); anything else is passed over (flags, positional arguments, unknown options: the parser
 * reports those). Returns 0, or 2 after printing "axial CMD: OPTION given twice (see `axial CMD
 * --help`)". axial.c. */
int axial_refuse_repeated_options(int argc, char *const *argv, const char *cmd, const char *const *value_options);

/* Flushes stdout: 0, or -1 when it or an earlier write to it failed (the first failure's reason is
 * kept, and main reports it on stderr and exits 1 after the command returns). axial.c. */
int axial_flush_stdout(void);

/* Draws a stored chain as a PNG (kind: msa, distance or contact); prints one line; 0 on success. */
int axial_plot_chain(const char *store_path, const char *chain, const char *kind, const char *out);

#endif /* AXIAL_TOOLS_CLI_H */
