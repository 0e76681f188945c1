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

/* Flushes stdout: 0, or -1 when it or an earlier write to it failed (the first failure's reason is
 * kept, and main reports it on stderr and exits 1 after the command returns). axial.c. */
int axial_flush_stdout(void);

/* Draws a stored chain as a PNG (kind: msa, distance or contact); prints one line; 0 on success. */
int axial_plot_chain(const char *store_path, const char *chain, const char *kind, const char *out);

#endif /* AXIAL_TOOLS_CLI_H */
