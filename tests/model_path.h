/*
 * model_path.h — where C tests find the real model: $AXIAL_MODEL, else the file
 * scripts/fetch-model.sh reports as installed. Tests SKIP (77) when there is none.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_TESTS_MODEL_PATH_H
#define AXIAL_TESTS_MODEL_PATH_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fills path (capacity cap); returns 1 when a model was found, else prints the SKIP line and
 * returns 0 (the caller returns 77). */
static inline int th_model_path(char *path, size_t cap) {
    path[0] = '\0';
    const char *env = getenv("AXIAL_MODEL");
    if (env != NULL && env[0] != '\0') {
        snprintf(path, cap, "%s", env);
    } else {
        /* Quoted: the checkout's path may hold spaces. */
        FILE *p = popen("'" AXIAL_TEST_DATA "/../../scripts/fetch-model.sh' 2> /dev/null", "r");
        if (p != NULL) {
            if (fgets(path, (int)cap, p) == NULL) path[0] = '\0';
            pclose(p);
        }
        path[strcspn(path, "\n")] = '\0';
    }
    if (path[0] == '\0') {
        printf("SKIP: no model (run scripts/fetch-model.sh or set AXIAL_MODEL)\n");
        return 0;
    }
    return 1;
}

#endif /* AXIAL_TESTS_MODEL_PATH_H */
