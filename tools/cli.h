/*
 * cli.h — subcommands of the `axial` program, one file per area.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_TOOLS_CLI_H
#define AXIAL_TOOLS_CLI_H

/* Each takes argv with argv[0] = the subcommand's name and returns the process exit status. */
int axial_cmd_attention(int argc, char **argv);
int axial_cmd_features(int argc, char **argv);
int axial_cmd_demo(int argc, char **argv);

/* Draws a stored chain as a PNG (kind: msa, distance or contact); prints one line; 0 on success. */
int axial_plot_chain(const char *store_path, const char *chain, const char *kind, const char *out);

#endif /* AXIAL_TOOLS_CLI_H */
