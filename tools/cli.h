/*
 * cli.h — subcommands of the `axial` program, one file per area.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_TOOLS_CLI_H
#define AXIAL_TOOLS_CLI_H

/* Each takes argv with argv[0] = the subcommand's name and returns the process exit status. */
int axial_cmd_attention(int argc, char **argv);

#endif /* AXIAL_TOOLS_CLI_H */
