/*
 * test_png.c — colour maps, bare heatmap PNG files and annotated figures (read back with libpng and
 * checked pixel by pixel: cells, frame, colour bar, text regions), the atomic-write, determinism and
 * error guarantees, and the matrices figures are drawn from (MSA identity, C-alpha distances and
 * contacts, attention probabilities of one head).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "axial/features.h"
#include "axial/figures.h"
#include "axial/io.h"
#include "io/figure_util.h"

#if AXIAL_WITH_PNG
#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <png.h>
#endif

#define DATA AXIAL_TEST_DATA

/* Anchor colours from the header documentation, written out here. */
static const uint8_t viridis_0[3] = {0x44, 0x01, 0x54}, viridis_25[3] = {0x3B, 0x52, 0x8B},
                     viridis_50[3] = {0x21, 0x90, 0x8C}, viridis_75[3] = {0x5D, 0xC8, 0x63},
                     viridis_1[3] = {0xFD, 0xE7, 0x25}, nan_rgb[3] = {255, 0, 255};

static int same_rgb(const uint8_t *a, const uint8_t *b) { return a[0] == b[0] && a[1] == b[1] && a[2] == b[2]; }

static char temp_root[256];

static void make_temp_root(void) {
    snprintf(temp_root, sizeof temp_root, "/tmp/axial_test_png_XXXXXX");
    if (mkdtemp(temp_root) == NULL) {
        fprintf(stderr, "cannot create a temporary directory\n");
        exit(1);
    }
}

#if AXIAL_WITH_PNG
static int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* Number of entries in a directory (without . and ..): no temporary files may be left over. */
static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    if (d == NULL) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
    closedir(d);
    return n;
}

static long read_file(const char *path, unsigned char **out) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return -1;
    fseek(f, 0, SEEK_END);
    const long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    *out = malloc((size_t)size + 1);
    if (*out == NULL || fread(*out, 1, (size_t)size, f) != (size_t)size) {
        fclose(f);
        return -1;
    }
    fclose(f);
    return size;
}
#endif

static void remove_tree(const char *dir) {
    DIR *d = opendir(dir);
    if (d == NULL) return;
    struct dirent *e;
    char path[512];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            chmod(path, 0755);
            remove_tree(path);
        } else {
            unlink(path);
        }
    }
    closedir(d);
    rmdir(dir);
}

/* ---- colour maps and rendering --------------------------------------------------------------- */

static void test_colormaps(void) {
    uint8_t rgb[3];
    CHECK_OK(ax_colormap_rgb(AX_COLORMAP_VIRIDIS, 0.0f, rgb));
    CHECK(same_rgb(rgb, viridis_0));
    CHECK_OK(ax_colormap_rgb(AX_COLORMAP_VIRIDIS, 0.25f, rgb));
    CHECK(same_rgb(rgb, viridis_25));
    CHECK_OK(ax_colormap_rgb(AX_COLORMAP_VIRIDIS, 0.5f, rgb));
    CHECK(same_rgb(rgb, viridis_50));
    CHECK_OK(ax_colormap_rgb(AX_COLORMAP_VIRIDIS, 0.75f, rgb));
    CHECK(same_rgb(rgb, viridis_75));
    CHECK_OK(ax_colormap_rgb(AX_COLORMAP_VIRIDIS, 1.0f, rgb));
    CHECK(same_rgb(rgb, viridis_1));
    CHECK_OK(ax_colormap_rgb(AX_COLORMAP_VIRIDIS, 7.0f, rgb)); /* clamped */
    CHECK(same_rgb(rgb, viridis_1));
    CHECK_OK(ax_colormap_rgb(AX_COLORMAP_VIRIDIS, -3.0f, rgb));
    CHECK(same_rgb(rgb, viridis_0));
    CHECK_OK(ax_colormap_rgb(AX_COLORMAP_VIRIDIS, NAN, rgb));
    CHECK(same_rgb(rgb, nan_rgb));
    /* Half way between anchors 0 and 1 (0x44 -> 0x3B is 68 -> 59: 63.5 rounds to 64). */
    CHECK_OK(ax_colormap_rgb(AX_COLORMAP_VIRIDIS, 0.125f, rgb));
    CHECK_INT_EQ(rgb[0], 64);
    CHECK_INT_EQ(rgb[1], (1 + 0x52 + 1) / 2);
    /* Grays: 0.5 -> 127.5 -> 128. */
    CHECK_OK(ax_colormap_rgb(AX_COLORMAP_GRAYS, 0.5f, rgb));
    CHECK(rgb[0] == 128 && rgb[1] == 128 && rgb[2] == 128);
    CHECK_OK(ax_colormap_rgb(AX_COLORMAP_BLUE_WHITE_RED, 0.5f, rgb));
    CHECK(rgb[0] == 255 && rgb[1] == 255 && rgb[2] == 255);
    CHECK_STATUS(ax_colormap_rgb((ax_colormap)9, 0.5f, rgb), AX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ax_colormap_rgb(AX_COLORMAP_GRAYS, 0.5f, NULL), AX_ERR_INVALID_ARGUMENT);

    /* Rendering: the value -> t mapping, infinities, and a constant range. */
    const float values[4] = {-INFINITY, INFINITY, 5.0f, 4.0f};
    uint8_t pixels[12];
    CHECK_OK(ax_heatmap_render_rgb(values, 1, 4, 5.0f, 5.0f, AX_COLORMAP_GRAYS, pixels));
    CHECK(pixels[0] == 0 && pixels[3] == 255 && pixels[6] == 0 && pixels[9] == 0);
    CHECK_OK(ax_heatmap_render_rgb(values, 2, 2, 3.0f, 5.0f, AX_COLORMAP_GRAYS, pixels));
    CHECK(pixels[0] == 0 && pixels[3] == 255 && pixels[6] == 255 && pixels[9] == 128);
    CHECK_STATUS(ax_heatmap_render_rgb(values, 2, 2, 5.0f, 3.0f, AX_COLORMAP_GRAYS, pixels), AX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ax_heatmap_render_rgb(values, 2, 2, NAN, 3.0f, AX_COLORMAP_GRAYS, pixels), AX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ax_heatmap_render_rgb(values, 0, 2, 0.0f, 1.0f, AX_COLORMAP_GRAYS, pixels), AX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ax_heatmap_render_rgb(values, INT64_MAX, 2, 0.0f, 1.0f, AX_COLORMAP_GRAYS, pixels),
                 AX_ERR_INVALID_ARGUMENT);

    float lo = 0, hi = 0;
    const float mixed[5] = {NAN, 3.0f, -INFINITY, -2.0f, 7.5f};
    CHECK_OK(ax_heatmap_range(mixed, 5, &lo, &hi));
    CHECK(lo == -2.0f && hi == 7.5f);
    const float none[2] = {NAN, INFINITY};
    CHECK_OK(ax_heatmap_range(none, 2, &lo, &hi));
    CHECK(lo == 0.0f && hi == 1.0f);
    CHECK_STATUS(ax_heatmap_range(mixed, -1, &lo, &hi), AX_ERR_INVALID_ARGUMENT);
}

/* ---- PNG files ------------------------------------------------------------------------------- */

#if AXIAL_WITH_PNG
/* Reads an RGB PNG back with libpng's simplified API; returns the pixels (free them) or NULL. */
static uint8_t *read_png(const char *path, uint32_t *width, uint32_t *height) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&image, path)) return NULL;
    image.format = PNG_FORMAT_RGB;
    uint8_t *pixels = malloc(PNG_IMAGE_SIZE(image));
    if (pixels == NULL || !png_image_finish_read(&image, NULL, pixels, 0, NULL)) {
        free(pixels);
        png_image_free(&image);
        return NULL;
    }
    *width = image.width;
    *height = image.height;
    return pixels;
}

static void test_png_roundtrip(void) {
    char dir[300], path[320], path2[320];
    snprintf(dir, sizeof dir, "%s/roundtrip", temp_root);
    CHECK(mkdir(dir, 0755) == 0);
    snprintf(path, sizeof path, "%s/map.png", dir);
    snprintf(path2, sizeof path2, "%s/map2.png", dir);
    /* 3 rows x 4 columns; vmin 0, vmax 1. */
    const float values[12] = {0.0f,      1.0f,      NAN,  0.5f,  /* row 0 */
                              INFINITY,  -INFINITY, 2.0f, -1.0f, /* row 1: ends and clamping */
                              0.25f,     0.75f,     0.0f, 1.0f}; /* row 2 */
    CHECK_OK(ax_png_write_heatmap(path, values, 3, 4, 0.0f, 1.0f, AX_COLORMAP_VIRIDIS));
    uint32_t w = 0, h = 0;
    uint8_t *px = read_png(path, &w, &h);
    CHECK(px != NULL);
    if (px != NULL) {
        CHECK_INT_EQ(w, 4);
        CHECK_INT_EQ(h, 3);
        const uint8_t *expected[12] = {viridis_0, viridis_1, nan_rgb,   viridis_50, viridis_1,  viridis_0,
                                       viridis_1, viridis_0, viridis_25, viridis_75, viridis_0, viridis_1};
        for (int e = 0; e < 12; e++)
            if (!same_rgb(px + 3 * e, expected[e]))
                TH_FAIL("pixel (%d, %d): got %02x%02x%02x", e / 4, e % 4, px[3 * e], px[3 * e + 1], px[3 * e + 2]);
        th_checks++;
        free(px);
    }
    CHECK_INT_EQ(count_entries(dir), 1); /* no temporary left behind */

    /* Determinism: a second write of the same data is byte-identical. */
    CHECK_OK(ax_png_write_heatmap(path2, values, 3, 4, 0.0f, 1.0f, AX_COLORMAP_VIRIDIS));
    unsigned char *a = NULL, *b = NULL;
    const long size_a = read_file(path, &a), size_b = read_file(path2, &b);
    CHECK(size_a > 0 && size_a == size_b);
    if (size_a > 0 && size_a == size_b) CHECK(memcmp(a, b, (size_t)size_a) == 0);
    free(a);
    free(b);

    /* Replacing an existing file. */
    FILE *old = fopen(path, "wb");
    if (old != NULL) {
        fputs("not a png", old);
        fclose(old);
    }
    CHECK_OK(ax_png_write_heatmap(path, values, 3, 4, 0.0f, 1.0f, AX_COLORMAP_VIRIDIS));
    a = NULL;
    CHECK_INT_EQ(read_file(path, &a), size_b);
    if (a != NULL) CHECK(memcmp(a, "\x89PNG", 4) == 0);
    free(a);
    CHECK_INT_EQ(count_entries(dir), 2);

    /* Through a symbolic link: the file it points to is replaced and the link stays (the rename had
     * replaced the link with a plain file and left map.png stale). */
    char via[340];
    snprintf(via, sizeof via, "%s/via.png", dir);
    CHECK(symlink("map.png", via) == 0);
    const float ones[12] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    CHECK_OK(ax_png_write_heatmap(via, ones, 3, 4, 0.0f, 1.0f, AX_COLORMAP_VIRIDIS));
    struct stat link_info;
    CHECK(lstat(via, &link_info) == 0 && S_ISLNK(link_info.st_mode));
    px = read_png(path, &w, &h);
    CHECK(px != NULL);
    if (px != NULL) {
        CHECK(w == 4 && h == 3 && same_rgb(px, viridis_1) && same_rgb(px + 3 * 11, viridis_1));
        free(px);
    }
    CHECK_INT_EQ(count_entries(dir), 3);

    /* A larger image, many rows (exercises the row loop and compression). */
    float *big = malloc(300 * 257 * sizeof(float));
    for (int e = 0; e < 300 * 257; e++) big[e] = (float)(e % 1000);
    snprintf(path2, sizeof path2, "%s/big.png", dir);
    CHECK_OK(ax_png_write_heatmap(path2, big, 300, 257, 0.0f, 999.0f, AX_COLORMAP_GRAYS));
    px = read_png(path2, &w, &h);
    if (px != NULL) {
        CHECK(w == 257 && h == 300);
        CHECK(px[0] == 0 && px[3 * 999] == 255); /* value 999 at element 999 */
        free(px);
    }
    CHECK(px != NULL);
    free(big);

    /* Replacing a file keeps its permission bits (a 0600 file had become 0644 by the umask), and a
     * name near NAME_MAX works (the temporary's name had been the target's plus a suffix, too long). */
    snprintf(path2, sizeof path2, "%s/private.png", dir);
    CHECK_OK(ax_png_write_heatmap(path2, values, 3, 4, 0.0f, 1.0f, AX_COLORMAP_VIRIDIS));
    CHECK(chmod(path2, 0600) == 0);
    CHECK_OK(ax_png_write_heatmap(path2, values, 3, 4, 0.0f, 1.0f, AX_COLORMAP_VIRIDIS));
    struct stat st;
    CHECK(stat(path2, &st) == 0 && (st.st_mode & 07777) == 0600);
    char long_name[600];
    const int n = snprintf(long_name, sizeof long_name, "%s/", dir);
    memset(long_name + n, 'x', 250);
    memcpy(long_name + n + 250, ".png", 5);
    CHECK_OK(ax_png_write_heatmap(long_name, values, 3, 4, 0.0f, 1.0f, AX_COLORMAP_VIRIDIS));
    CHECK(stat(long_name, &st) == 0 && st.st_size > 0);
}

static void test_png_errors(void) {
    const float values[4] = {0.0f, 1.0f, 2.0f, 3.0f};
    char path[400];

    /* A directory that does not exist. */
    snprintf(path, sizeof path, "%s/no/such/dir/map.png", temp_root);
    CHECK_STATUS(ax_png_write_heatmap(path, values, 2, 2, 0.0f, 3.0f, AX_COLORMAP_VIRIDIS), AX_ERR_IO);
    CHECK_CONTAINS(ax_last_error(), path);
    CHECK(!file_exists(path));

    /* A read-only directory. Root ignores permission bits, so when a probe file can be created
     * there anyway, /sys (which refuses new files even to root) stands in. */
    char dir[300];
    snprintf(dir, sizeof dir, "%s/readonly", temp_root);
    CHECK(mkdir(dir, 0755) == 0);
    CHECK(chmod(dir, 0555) == 0);
    char probe[320];
    snprintf(probe, sizeof probe, "%s/probe", dir);
    FILE *p = fopen(probe, "wb");
    if (p == NULL) {
        snprintf(path, sizeof path, "%s/map.png", dir);
    } else {
        fclose(p);
        unlink(probe);
        snprintf(path, sizeof path, "/sys/axial_test_heatmap_%ld.png", (long)getpid());
        printf("  running as root: using %s as the read-only directory\n", path);
    }
    CHECK_STATUS(ax_png_write_heatmap(path, values, 2, 2, 0.0f, 3.0f, AX_COLORMAP_VIRIDIS), AX_ERR_IO);
    CHECK_CONTAINS(ax_last_error(), path);
    CHECK(!file_exists(path));
    CHECK_INT_EQ(count_entries(dir), 0);
    chmod(dir, 0755);

    /* A path that is a directory is refused up front (the temporary had been written, then the
     * rename failed); nothing is left beside it. */
    snprintf(dir, sizeof dir, "%s/dir_target", temp_root);
    CHECK(mkdir(dir, 0755) == 0);
    snprintf(path, sizeof path, "%s/taken.png", dir);
    CHECK(mkdir(path, 0755) == 0);
    CHECK_STATUS(ax_png_write_heatmap(path, values, 2, 2, 0.0f, 3.0f, AX_COLORMAP_VIRIDIS), AX_ERR_IO);
    CHECK_CONTAINS(ax_last_error(), path);
    CHECK_CONTAINS(ax_last_error(), "is a directory");
    CHECK_INT_EQ(count_entries(dir), 1);

    /* Argument errors create nothing. */
    snprintf(dir, sizeof dir, "%s/args", temp_root);
    CHECK(mkdir(dir, 0755) == 0);
    snprintf(path, sizeof path, "%s/x.png", dir);
    CHECK_STATUS(ax_png_write_heatmap(path, values, 0, 2, 0.0f, 3.0f, AX_COLORMAP_VIRIDIS), AX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ax_png_write_heatmap(path, values, 2, 2, 3.0f, 0.0f, AX_COLORMAP_VIRIDIS), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), path);
    CHECK_STATUS(ax_png_write_heatmap(path, values, 2, 2, 0.0f, 3.0f, (ax_colormap)42), AX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ax_png_write_heatmap(path, NULL, 2, 2, 0.0f, 3.0f, AX_COLORMAP_VIRIDIS), AX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ax_png_write_heatmap(path, values, (int64_t)1 << 31, 1, 0.0f, 3.0f, AX_COLORMAP_VIRIDIS),
                 AX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ax_png_write_heatmap(NULL, values, 2, 2, 0.0f, 3.0f, AX_COLORMAP_VIRIDIS), AX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ax_png_write_heatmap("", values, 2, 2, 0.0f, 3.0f, AX_COLORMAP_VIRIDIS), AX_ERR_INVALID_ARGUMENT);
    CHECK_INT_EQ(count_entries(dir), 0);
}
/* ---- annotated figures ---------------------------------------------------------------------- */

static int near_rgb(const uint8_t *a, const uint8_t *b, int tolerance) {
    for (int ch = 0; ch < 3; ch++)
        if (abs((int)a[ch] - (int)b[ch]) > tolerance) return 0;
    return 1;
}

/* Text and lines are black on white with grey antialiasing: ink is a grey noticeably darker than
 * the background. No colour map used here contains a grey (viridis has none; the tests that need it
 * do not use grays). */
static int is_ink(const uint8_t *p) { return p[0] == p[1] && p[1] == p[2] && p[0] < 160; }

static int count_ink(const uint8_t *px, uint32_t w, uint32_t x0, uint32_t y0, uint32_t x1, uint32_t y1) {
    int n = 0;
    for (uint32_t y = y0; y < y1; y++)
        for (uint32_t x = x0; x < x1; x++) n += is_ink(px + 3 * ((size_t)y * w + x));
    return n;
}

/* The first pixel in raster order of exactly colour c: the map's top-left corner when cell (0, 0)
 * has that colour (the title and numbers above the map are grey). */
static int find_first(const uint8_t *px, uint32_t w, uint32_t h, const uint8_t c[3], uint32_t *x, uint32_t *y) {
    for (uint32_t j = 0; j < h; j++)
        for (uint32_t i = 0; i < w; i++)
            if (same_rgb(px + 3 * ((size_t)j * w + i), c)) {
                *x = i;
                *y = j;
                return 1;
            }
    return 0;
}

/* Every pixel of a cell block has colour c. */
static int block_is(const uint8_t *px, uint32_t w, uint32_t x, uint32_t y, uint32_t cw, uint32_t ch, const uint8_t c[3]) {
    for (uint32_t j = y; j < y + ch; j++)
        for (uint32_t i = x; i < x + cw; i++)
            if (!same_rgb(px + 3 * ((size_t)j * w + i), c)) return 0;
    return 1;
}

static int same_file(const char *a_path, const char *b_path) {
    unsigned char *a = NULL, *b = NULL;
    const long size_a = read_file(a_path, &a), size_b = read_file(b_path, &b);
    const int same = size_a > 0 && size_a == size_b && memcmp(a, b, (size_t)size_a) == 0;
    free(a);
    free(b);
    return same;
}

static void test_figure_layout(void) {
    char dir[300], path[320], path2[320];
    snprintf(dir, sizeof dir, "%s/figure", temp_root);
    CHECK(mkdir(dir, 0755) == 0);
    snprintf(path, sizeof path, "%s/fig.png", dir);
    snprintf(path2, sizeof path2, "%s/fig2.png", dir);
    /* The round-trip matrix: 3 x 4, NaN at (0, 2), values on the viridis anchors. */
    const float values[12] = {0.0f, 1.0f, NAN, 0.5f, INFINITY, -INFINITY, 2.0f, -1.0f, 0.25f, 0.75f, 0.0f, 1.0f};
    const uint8_t *expected[12] = {viridis_0, viridis_1, nan_rgb,   viridis_50, viridis_1,  viridis_0,
                                   viridis_1, viridis_0, viridis_25, viridis_75, viridis_0, viridis_1};
    ax_figure_config cfg = AX_FIGURE_CONFIG_INIT;
    cfg.title = "Test figure \xCE\xB1";
    cfg.x_label = "column";
    cfg.y_label = "row";
    cfg.value_label = "value (\xC3\x85)";
    cfg.x_first = 1;
    cfg.cell_width = 40;
    cfg.cell_height = 40;
    CHECK_OK(ax_png_write_figure(path, values, 3, 4, 0.0f, 1.0f, AX_COLORMAP_VIRIDIS, &cfg));
    CHECK_INT_EQ(count_entries(dir), 1); /* no temporary left behind */
    uint32_t w = 0, h = 0, x0 = 0, y0 = 0;
    uint8_t *px = read_png(path, &w, &h);
    CHECK(px != NULL);
    if (px == NULL) return;
    /* Room around the 160 x 120 map for the numbers, labels and colour bar. */
    CHECK(w > 160 + 100 && h > 120 + 60);
    CHECK(find_first(px, w, h, viridis_0, &x0, &y0));
    CHECK(x0 > 30 && y0 > 20 && x0 + 160 < w && y0 + 120 < h);
    if (!(x0 > 30 && y0 > 20 && x0 + 160 < w && y0 + 120 < h)) {
        free(px);
        return;
    }
    /* Each cell is a 40 x 40 block of exactly its colour (nearest neighbour, nothing blended). */
    for (int e = 0; e < 12; e++)
        if (!block_is(px, w, x0 + 40 * (e % 4), y0 + 40 * (e / 4), 40, 40, expected[e]))
            TH_FAIL("cell (%d, %d) is not uniformly its colour", e / 4, e % 4);
    th_checks++;
    /* A one-pixel black frame just outside the map. */
    const uint8_t black[3] = {0, 0, 0}, white[3] = {255, 255, 255};
    CHECK(same_rgb(px + 3 * ((size_t)(y0 + 60) * w + x0 - 1), black));
    CHECK(same_rgb(px + 3 * ((size_t)(y0 + 60) * w + x0 + 160), black));
    CHECK(same_rgb(px + 3 * ((size_t)(y0 - 1) * w + x0 + 60), black));
    CHECK(same_rgb(px + 3 * ((size_t)(y0 + 120) * w + x0 + 60), black));
    CHECK(same_rgb(px, white) && same_rgb(px + 3 * ((size_t)h * w - 1), white));
    /* The title above the map, the numbers and labels left of and below it. */
    CHECK(count_ink(px, w, 0, 0, w, y0 - 8) > 100);
    CHECK(count_ink(px, w, 0, y0, x0 - 8, y0 + 120) > 100);
    CHECK(count_ink(px, w, x0, y0 + 128, x0 + 160, h) > 100);
    /* The colour bar right of the map, as tall as the map: vmax at the top, vmin at the bottom. */
    uint32_t bar_x = 0;
    for (uint32_t x = x0 + 161; x < w && bar_x == 0; x++) {
        const uint8_t *p = px + 3 * ((size_t)(y0 + 60) * w + x);
        if (!same_rgb(p, white) && !is_ink(p)) bar_x = x;
    }
    CHECK(bar_x > 0 && bar_x + 10 < w);
    if (bar_x > 0 && bar_x + 10 < w) {
        CHECK(near_rgb(px + 3 * ((size_t)y0 * w + bar_x + 5), viridis_1, 3));
        CHECK(near_rgb(px + 3 * ((size_t)(y0 + 119) * w + bar_x + 5), viridis_0, 3));
        CHECK(near_rgb(px + 3 * ((size_t)(y0 + 60) * w + bar_x + 5), viridis_50, 3));
        CHECK(same_rgb(px + 3 * ((size_t)(y0 - 2) * w + bar_x + 5), white));
        /* Its numbers and the value label to its right. */
        CHECK(count_ink(px, w, bar_x + 36, y0, w, y0 + 120) > 100);
        /* The NaN swatch under the bar: magenta pixels besides the NaN cell's 1600. */
        int magenta = 0;
        for (size_t e = 0; e < (size_t)w * h; e++) magenta += same_rgb(px + 3 * e, nan_rgb);
        CHECK(magenta > 1600 + 50);
        CHECK(same_rgb(px + 3 * ((size_t)(y0 + 120 + 16) * w + bar_x + 5), nan_rgb));
    }
    free(px);

    /* Determinism: the same figure again is byte-identical; a different title is not. */
    CHECK_OK(ax_png_write_figure(path2, values, 3, 4, 0.0f, 1.0f, AX_COLORMAP_VIRIDIS, &cfg));
    CHECK(same_file(path, path2));
    cfg.title = "Test figure";
    CHECK_OK(ax_png_write_figure(path2, values, 3, 4, 0.0f, 1.0f, AX_COLORMAP_VIRIDIS, &cfg));
    CHECK(!same_file(path, path2));

    /* No config: no text above the map, numbers from 0, automatic cells (720 / 4 = 180 -> 64 at most). */
    const float plain[4] = {0.0f, 1.0f, 1.0f, 0.0f};
    CHECK_OK(ax_png_write_figure(path2, plain, 2, 2, 0.0f, 1.0f, AX_COLORMAP_VIRIDIS, NULL));
    px = read_png(path2, &w, &h);
    CHECK(px != NULL);
    if (px != NULL && find_first(px, w, h, viridis_0, &x0, &y0)) {
        CHECK(block_is(px, w, x0, y0, 64, 64, viridis_0) && block_is(px, w, x0 + 64, y0, 64, 64, viridis_1));
        CHECK(block_is(px, w, x0 + 64, y0 + 64, 64, 64, viridis_0));
        CHECK(same_rgb(px + 3 * ((size_t)(y0 + 128) * w + x0 + 10), black)); /* frame: the map is 128 tall */
        CHECK_INT_EQ(count_ink(px, w, 0, 0, w, 10), 0);
        int magenta = 0;
        for (size_t e = 0; e < (size_t)w * h; e++) magenta += same_rgb(px + 3 * e, nan_rgb);
        CHECK_INT_EQ(magenta, 0); /* no NaN, no "no value" swatch */
    } else {
        CHECK(0);
    }
    free(px);
}

static void test_figure_errors(void) {
    char dir[300], path[320];
    snprintf(dir, sizeof dir, "%s/figure_errors", temp_root);
    CHECK(mkdir(dir, 0755) == 0);
    snprintf(path, sizeof path, "%s/x.png", dir);
    const float values[4] = {0.0f, 1.0f, 2.0f, 3.0f};
    ax_figure_config cfg = AX_FIGURE_CONFIG_INIT;
    cfg.title = "bad \xC3\x28 byte";
    CHECK_STATUS(ax_png_write_figure(path, values, 2, 2, 0.0f, 3.0f, AX_COLORMAP_VIRIDIS, &cfg), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "title");
    CHECK_CONTAINS(ax_last_error(), path);
    cfg.title = NULL;
    cfg.value_label = "\xED\xA0\x80"; /* a UTF-16 surrogate */
    CHECK_STATUS(ax_png_write_figure(path, values, 2, 2, 0.0f, 3.0f, AX_COLORMAP_VIRIDIS, &cfg), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "value_label");
    cfg.value_label = NULL;
    cfg.cell_width = 65;
    CHECK_STATUS(ax_png_write_figure(path, values, 2, 2, 0.0f, 3.0f, AX_COLORMAP_VIRIDIS, &cfg), AX_ERR_INVALID_ARGUMENT);
    cfg.cell_width = 0;
    cfg.x_first = INT64_MAX;
    CHECK_STATUS(ax_png_write_figure(path, values, 2, 2, 0.0f, 3.0f, AX_COLORMAP_VIRIDIS, &cfg), AX_ERR_INVALID_ARGUMENT);
    cfg.x_first = 0;
    cfg.struct_size = 0;
    CHECK_STATUS(ax_png_write_figure(path, values, 2, 2, 0.0f, 3.0f, AX_COLORMAP_VIRIDIS, &cfg), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "struct_size");
    CHECK_STATUS(ax_png_write_figure(path, values, 2, 2, 3.0f, 0.0f, AX_COLORMAP_VIRIDIS, NULL), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), path);
    CHECK_STATUS(ax_png_write_figure(path, NULL, 2, 2, 0.0f, 3.0f, AX_COLORMAP_VIRIDIS, NULL), AX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ax_png_write_figure("", values, 2, 2, 0.0f, 3.0f, AX_COLORMAP_VIRIDIS, NULL), AX_ERR_INVALID_ARGUMENT);
    /* Beyond cairo's 32767 pixels per side: the message points to the bare writer. */
    CHECK_STATUS(ax_png_write_figure(path, values, 40000, 1, 0.0f, 3.0f, AX_COLORMAP_VIRIDIS, NULL),
                 AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "ax_png_write_heatmap");
    float *wide = calloc(1000, sizeof(float));
    ax_figure_config big = AX_FIGURE_CONFIG_INIT;
    big.cell_width = 64;
    CHECK_STATUS(ax_png_write_figure(path, wide, 1, 1000, 0.0f, 1.0f, AX_COLORMAP_VIRIDIS, &big), AX_ERR_INVALID_ARGUMENT);
    free(wide);
    /* A title or a rotated label too long for any figure is named as such, not blamed on the cells
     * (a 2 x 2 map has room to spare). */
    char *text = malloc(4001);
    memset(text, 'W', 4000);
    text[4000] = '\0';
    cfg = (ax_figure_config)AX_FIGURE_CONFIG_INIT;
    cfg.title = text;
    CHECK_STATUS(ax_png_write_figure(path, values, 2, 2, 0.0f, 3.0f, AX_COLORMAP_VIRIDIS, &cfg),
                 AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "config->title is too long");
    CHECK(strstr(ax_last_error(), "cells") == NULL);
    cfg.title = NULL;
    cfg.y_label = text;
    CHECK_STATUS(ax_png_write_figure(path, values, 2, 2, 0.0f, 3.0f, AX_COLORMAP_VIRIDIS, &cfg),
                 AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "y_label");
    CHECK(strstr(ax_last_error(), "cells") == NULL);
    free(text);
    CHECK_INT_EQ(count_entries(dir), 0); /* argument errors create nothing */

    /* A path that is a directory is refused before anything is drawn (the temporary had been drawn
     * and written, then the rename failed); nothing is left beside it. */
    snprintf(path, sizeof path, "%s/taken.png", dir);
    CHECK(mkdir(path, 0755) == 0);
    CHECK_STATUS(ax_png_write_figure(path, values, 2, 2, 0.0f, 3.0f, AX_COLORMAP_VIRIDIS, NULL), AX_ERR_IO);
    CHECK_CONTAINS(ax_last_error(), "taken.png: is a directory");
    CHECK_INT_EQ(count_entries(dir), 1);
    snprintf(path, sizeof path, "%s/no/such/dir/x.png", temp_root);
    CHECK_STATUS(ax_png_write_figure(path, values, 2, 2, 0.0f, 3.0f, AX_COLORMAP_VIRIDIS, NULL), AX_ERR_IO);
    CHECK_CONTAINS(ax_last_error(), path);
}

/* One head's probabilities: the largest value takes the top colour, zeros the bottom one. */
static void test_attention_figure(void) {
    enum { S = 6 };
    float probs[S * S];
    for (int i = 0; i < S; i++)
        for (int j = 0; j < S; j++) probs[i * S + j] = i == j ? 0.6f : (j == 0 ? 0.4f : 0.0f);
    probs[0] = 1.0f;  /* row 0 attends only to itself */
    probs[1 * S + 0] = 0.4f;
    char path[320];
    snprintf(path, sizeof path, "%s/attention.png", temp_root);
    CHECK_OK(ax_png_write_attention_map(path, probs, S, NULL, 1));
    uint32_t w = 0, h = 0, x0 = 0, y0 = 0;
    uint8_t *px = read_png(path, &w, &h);
    CHECK(px != NULL);
    if (px == NULL) return;
    /* Automatic cells: 720 / 6 = 120 -> 64 pixels, the most. Cell (0, 0) = 1.0 = vmax. */
    CHECK(find_first(px, w, h, viridis_1, &x0, &y0));
    uint8_t c04[3], c11[3];
    CHECK_OK(ax_colormap_rgb(AX_COLORMAP_VIRIDIS, 0.4f, c04));
    CHECK_OK(ax_colormap_rgb(AX_COLORMAP_VIRIDIS, 0.6f, c11));
    CHECK(block_is(px, w, x0, y0, 64, 64, viridis_1));
    CHECK(block_is(px, w, x0 + 64, y0, 64, 64, viridis_0));
    CHECK(block_is(px, w, x0, y0 + 64, 64, 64, c04));
    CHECK(block_is(px, w, x0 + 64, y0 + 64, 64, 64, c11));
    CHECK(count_ink(px, w, 0, 0, w, y0 - 8) > 100); /* the default title */
    free(px);
    CHECK_STATUS(ax_png_write_attention_map(path, NULL, S, NULL, 1), AX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ax_png_write_attention_map(path, probs, 0, NULL, 1), AX_ERR_INVALID_ARGUMENT);
}

/* ---- ticks ------------------------------------------------------------------------------------ */

/* Rows y in [y0, y1) where pixel (x, y) is black: the tick marks that cross column x (they are drawn
 * without antialiasing on pixel centres, so a tick is exactly black). Up to max rows into rows. */
static int black_rows(const uint8_t *px, uint32_t w, uint32_t x, uint32_t y0, uint32_t y1, uint32_t *rows, int max) {
    const uint8_t black[3] = {0, 0, 0};
    int n = 0;
    for (uint32_t y = y0; y < y1; y++)
        if (same_rgb(px + 3 * ((size_t)y * w + x), black)) {
            if (n < max) rows[n] = y;
            n++;
        }
    return n;
}

/* A 4 x 4 ramp over [lo, hi] in 20-pixel cells (an 80-pixel bar): the bar has at least two ticks,
 * at most eight, each at a round value (a multiple of `round`, to within a pixel) with a number
 * beside it. Steps from range / 2 alone gave none for 0.55..0.97 (step 0.5) and one for
 * 1000.1..1000.9 (1000.5). */
static void check_bar_ticks(const char *path, float lo, float hi, double round) {
    float values[16];
    for (int e = 0; e < 16; e++) values[e] = lo + (hi - lo) * (float)e / 15.0f;
    ax_figure_config cfg = AX_FIGURE_CONFIG_INIT;
    cfg.cell_width = 20;
    cfg.cell_height = 20;
    CHECK_OK(ax_png_write_figure(path, values, 4, 4, lo, hi, AX_COLORMAP_VIRIDIS, &cfg));
    uint32_t w = 0, h = 0, x0 = 0, y0 = 0;
    uint8_t *px = read_png(path, &w, &h);
    CHECK(px != NULL && find_first(px, w, h, viridis_0, &x0, &y0)); /* cell (0, 0) = lo */
    if (px == NULL || x0 + 81 >= w || y0 + 80 >= h) {
        CHECK(0);
        free(px);
        return;
    }
    /* The bar: the first coloured pixel right of the map on its middle row; its frame: the first black
     * one after that; the ticks: black across the column 3 pixels right of the frame. */
    const uint8_t white[3] = {255, 255, 255}, black[3] = {0, 0, 0};
    uint32_t bar_x = 0, frame_x = 0;
    for (uint32_t x = x0 + 81; x < w && bar_x == 0; x++) {
        const uint8_t *p = px + 3 * ((size_t)(y0 + 40) * w + x);
        if (!same_rgb(p, white) && !is_ink(p)) bar_x = x;
    }
    for (uint32_t x = bar_x; bar_x > 0 && x < w && frame_x == 0; x++)
        if (same_rgb(px + 3 * ((size_t)(y0 + 40) * w + x), black)) frame_x = x;
    CHECK(bar_x > 0 && frame_x > bar_x && frame_x + 20 < w);
    if (bar_x > 0 && frame_x > bar_x && frame_x + 20 < w) {
        uint32_t rows[64];
        const int n = black_rows(px, w, frame_x + 3, y0, y0 + 80, rows, 64);
        if (n < 2 || n > 8) TH_FAIL("[%g, %g]: %d colour bar ticks, expected 2..8", lo, hi, n);
        th_checks++;
        for (int i = 0; i < n && i < 64; i++) {
            /* The value at the centre of the tick's pixel row: hi at the top edge, lo at the bottom. */
            const double v = hi - ((double)(rows[i] - y0) + 0.5) / 80.0 * ((double)hi - lo);
            const double off = fabs(v - round * floor(v / round + 0.5));
            if (off > ((double)hi - lo) / 80.0 + 1e-9)
                TH_FAIL("[%g, %g]: tick at row %u reads %.4f, not a multiple of %g", lo, hi, rows[i] - y0, v, round);
            if (count_ink(px, w, frame_x + 8, rows[i] - 3, w, rows[i] + 4) < 10)
                TH_FAIL("[%g, %g]: no number beside the tick at row %u", lo, hi, rows[i] - y0);
            th_checks += 2;
        }
    }
    free(px);
}

/* The rows of a 7001-row map (one pixel each): its ticks go to the end of the axis, evenly spaced
 * (numbers 0, s, 2s, ... up to the last multiple within 7000). They had been cut at 64, so the
 * numbers stopped at 6300. */
static void test_figure_ticks(void) {
    char path[320];
    snprintf(path, sizeof path, "%s/ticks.png", temp_root);
    check_bar_ticks(path, 0.55f, 0.97f, 0.05);
    check_bar_ticks(path, 1000.1f, 1000.9f, 0.1);

    enum { ROWS = 7001 };
    float *values = malloc((size_t)ROWS * 2 * sizeof(float));
    CHECK(values != NULL);
    if (values == NULL) return;
    for (int e = 0; e < ROWS * 2; e++) values[e] = 0.5f;
    CHECK_OK(ax_png_write_figure(path, values, ROWS, 2, 0.0f, 1.0f, AX_COLORMAP_VIRIDIS, NULL));
    free(values);
    uint32_t w = 0, h = 0, x0 = 0, y0 = 0;
    uint8_t *px = read_png(path, &w, &h);
    CHECK(px != NULL && find_first(px, w, h, viridis_50, &x0, &y0));
    if (px == NULL || x0 < 10 || y0 + ROWS > h) {
        CHECK(0);
        free(px);
        return;
    }
    /* Automatic cells: one pixel per row. The y ticks cross the column 3 pixels left of the map. */
    CHECK(block_is(px, w, x0, y0 + ROWS - 1, 4, 1, viridis_50) && !block_is(px, w, x0, y0 + ROWS, 4, 1, viridis_50));
    uint32_t rows[200];
    const int n = black_rows(px, w, x0 - 3, y0, y0 + ROWS, rows, 200);
    CHECK(n >= 2 && n <= 64);
    if (n >= 2 && n <= 64) {
        const uint32_t gap = rows[1] - rows[0];
        int uneven = 0;
        for (int i = 2; i < n; i++) uneven += rows[i] - rows[i - 1] != gap;
        CHECK_INT_EQ(uneven, 0);
        CHECK_INT_EQ(rows[0], y0); /* row 0 is a multiple of every step */
        /* The last tick is within one step of the last row: nothing is left unnumbered. */
        if (!(y0 + ROWS - 1 - rows[n - 1] < gap))
            TH_FAIL("the last y tick is at row %u of %d (ticks every %u rows)", rows[n - 1] - y0, ROWS, gap);
        th_checks++;
        CHECK(count_ink(px, w, 0, rows[n - 1] - 3, x0 - 8, rows[n - 1] + 4) > 10); /* its number */
    }
    free(px);
}

/* ---- deep MSAs -------------------------------------------------------------------------------- */

/* Deeper than cairo's 32767 pixels per side (such an MSA had been refused); binned in pairs. */
enum { DEEP_COLS = 12, DEEP_ROWS = 40001 };

/* Digit c (base 3, column 0 the least significant) of MSA row r of the deep test MSA: row 0 is the
 * query (all 'A', digit 2); row r >= 1 spells r with '-' (0), 'C' (1) and 'A' (2), so every row
 * differs and its identity to the query in column c is digit / 2 (gap 0, other residue 0.5, same 1). */
static int deep_digit(int64_t r, int c) {
    if (r == 0) return 2;
    for (int i = 0; i < c; i++) r /= 3;
    return (int)(r % 3);
}

/* An MSA deeper than a figure shows (AX_CHAIN_MAP_MAX_ROWS lines): drawn as 20001 lines, each the mean
 * of 2 rows (the last of row 40000 alone), the y axis numbering MSA rows to the end. */
static void test_deep_msa_figure(void) {
    char a3m[320], fig[320];
    snprintf(a3m, sizeof a3m, "%s/deep.a3m", temp_root);
    snprintf(fig, sizeof fig, "%s/deep.png", temp_root);
    FILE *f = fopen(a3m, "w");
    CHECK(f != NULL);
    if (f == NULL) return;
    for (int64_t r = 0; r < DEEP_ROWS; r++) {
        fprintf(f, ">r%lld\n", (long long)r);
        for (int c = 0; c < DEEP_COLS; c++) fputc("-CA"[deep_digit(r, c)], f);
        fputc('\n', f);
    }
    CHECK(fclose(f) == 0);
    ax_msa *msa = NULL;
    ax_chain_features *features = NULL;
    CHECK_OK(ax_a3m_read(a3m, &msa));
    if (msa != NULL) CHECK_OK(ax_chain_features_create(msa, NULL, 0.0, &features));
    ax_msa_destroy(msa);
    if (features == NULL) return;
    CHECK_INT_EQ(features->num_alignments, DEEP_ROWS);
    CHECK(DEEP_ROWS > AX_CHAIN_MAP_MAX_ROWS && DEEP_ROWS <= 2 * AX_CHAIN_MAP_MAX_ROWS); /* 2 rows per line */
    CHECK_OK(ax_png_write_chain_map(fig, features, "deep", AX_CHAIN_MAP_MSA_IDENTITY, 8.0f));
    ax_chain_features_destroy(features);

    enum { LINES = (DEEP_ROWS + 1) / 2, CELL_W = 60 }; /* automatic cells: 720 / 12 wide, 1 tall */
    uint32_t w = 0, h = 0;
    uint8_t *px = read_png(fig, &w, &h);
    CHECK(px != NULL && h > LINES && h < LINES + 400);
    if (px == NULL || !(h > LINES && h < LINES + 400)) {
        free(px);
        return;
    }
    /* The map's corner, inside its one-pixel frame. */
    const uint8_t black[3] = {0, 0, 0};
    uint32_t fx = 0, fy = 0;
    int found = 0;
    for (uint32_t y = 0; y + LINES + 2 <= h && !found; y++)
        for (uint32_t x = 0; x + DEEP_COLS * CELL_W + 2 <= w && !found; x++)
            if (block_is(px, w, x, y, DEEP_COLS * CELL_W + 2, 1, black) && block_is(px, w, x, y, 1, LINES + 2, black)) {
                fx = x + 1;
                fy = y + 1;
                found = 1;
            }
    CHECK(found && fx > 8);
    if (found && fx > 8) {
        int bad = 0;
        for (int64_t line = 0; line < LINES; line++)
            for (int c = 0; c < DEEP_COLS; c++) {
                const int64_t first = 2 * line, count = first + 1 < DEEP_ROWS ? 2 : 1;
                double sum = 0.0;
                for (int64_t r = first; r < first + count; r++) sum += deep_digit(r, c) / 2.0;
                uint8_t want[3];
                const uint8_t *got = px + 3 * ((size_t)(fy + line) * w + fx + (uint32_t)c * CELL_W);
                if (ax_colormap_rgb(AX_COLORMAP_VIRIDIS, (float)(sum / (double)count), want) != AX_OK ||
                    !near_rgb(got, want, 1) || !block_is(px, w, fx + (uint32_t)c * CELL_W, fy + (uint32_t)line,
                                                         CELL_W, 1, got)) {
                    if (bad == 0) TH_FAIL("line %lld, column %d: not the mean of its rows", (long long)line, c);
                    bad++;
                }
            }
        CHECK_INT_EQ(bad, 0);
        /* Row 40000 is a multiple of any step the axis can take (up to 20000): its tick is on the last line. */
        uint32_t rows[80];
        const int n = black_rows(px, w, fx - 3, fy, fy + LINES, rows, 80);
        CHECK(n >= 2 && n <= 64 && n <= 80 && rows[n - 1] == fy + LINES - 1);
    }
    free(px);
}
#else
static void test_png_unsupported(void) {
    const float values[1] = {0.0f};
    CHECK_STATUS(ax_png_write_heatmap("/tmp/x.png", values, 1, 1, 0.0f, 1.0f, AX_COLORMAP_VIRIDIS), AX_ERR_UNSUPPORTED);
    CHECK_CONTAINS(ax_last_error(), "this build has no libpng");
    CHECK_STATUS(ax_png_write_figure("/tmp/x.png", values, 1, 1, 0.0f, 1.0f, AX_COLORMAP_VIRIDIS, NULL),
                 AX_ERR_UNSUPPORTED);
    CHECK(!ax_build_has_png());
}
#endif

/* The private text helpers: labels are checked as UTF-8, and numbers never take a locale's comma. */
static void test_figure_text(void) {
    CHECK(ax_utf8_valid("") && ax_utf8_valid("residue") && ax_utf8_valid("C\xCE\xB1 (\xC3\x85)"));
    CHECK(ax_utf8_valid("\xF0\x9F\x99\x82")); /* U+1F642, four bytes */
    CHECK(!ax_utf8_valid("\xC3"));             /* truncated */
    CHECK(!ax_utf8_valid("\xC0\xAF"));         /* overlong '/' */
    CHECK(!ax_utf8_valid("\xED\xA0\x80"));     /* surrogate */
    CHECK(!ax_utf8_valid("\xF4\x90\x80\x80")); /* above U+10FFFF */
    CHECK(!ax_utf8_valid("\xFF"));
    char number[32];
    snprintf(number, sizeof number, "3,25");
    ax_fix_decimal_point(number);
    CHECK_STR_EQ(number, "3.25");
    snprintf(number, sizeof number, "-1\xD9\xAB" "5"); /* Arabic decimal separator U+066B */
    ax_fix_decimal_point(number);
    CHECK_STR_EQ(number, "-1.5");
    snprintf(number, sizeof number, "1.5e+07");
    ax_fix_decimal_point(number);
    CHECK_STR_EQ(number, "1.5e+07");
}

/* ---- matrices -------------------------------------------------------------------------------- */

/* query.a3m, match columns only (awk as in test_features.c), compared with the query per column:
 *   row 1: 180 identical, 202 different, 49 gaps
 *   rows 1..58: 8244 identical, 10404 different, 6350 gaps
 * so the map sums to 431 (query) + 8244 + 0.5 * 10404 = 13877. */
static void test_identity_map(void) {
    ax_msa *msa = NULL;
    CHECK_OK(ax_a3m_read(DATA "/query.a3m", &msa));
    ax_chain_features *f = NULL;
    if (msa != NULL) CHECK_OK(ax_chain_features_create(msa, NULL, 0.0, &f));
    ax_msa_destroy(msa);
    if (f == NULL) return;
    const int64_t N = f->num_alignments, L = f->seq_length;
    float *map = malloc((size_t)(N * L) * sizeof(float));
    CHECK_OK(ax_msa_identity_map(f, map));
    int64_t ones = 0, halves = 0, zeros = 0, row1[3] = {0, 0, 0};
    double sum = 0;
    for (int64_t r = 0; r < N; r++)
        for (int64_t i = 0; i < L; i++) {
            const float v = map[r * L + i];
            sum += v;
            if (r == 0) continue;
            ones += v == 1.0f;
            halves += v == 0.5f;
            zeros += v == 0.0f;
            if (r == 1) row1[v == 1.0f ? 0 : v == 0.5f ? 1 : 2]++;
        }
    CHECK_INT_EQ(ones, 8244);
    CHECK_INT_EQ(halves, 10404);
    CHECK_INT_EQ(zeros, 6350);
    CHECK_INT_EQ(row1[0], 180);
    CHECK_INT_EQ(row1[1], 202);
    CHECK_INT_EQ(row1[2], 49);
    CHECK(sum == 13877.0);
#if AXIAL_WITH_PNG
    {
        /* The labelled figure: automatic cells of 720 / 431 -> 2 by 720 / 59 -> 12 pixels. */
        char fig[320];
        snprintf(fig, sizeof fig, "%s/msa_figure.png", temp_root);
        CHECK_OK(ax_png_write_chain_map(fig, f, "FAM69B_HUMAN", AX_CHAIN_MAP_MSA_IDENTITY, 8.0f));
        uint32_t w = 0, h = 0, x0 = 0, y0 = 0;
        uint8_t *px = read_png(fig, &w, &h);
        CHECK(px != NULL && find_first(px, w, h, viridis_1, &x0, &y0)); /* query row, column 0 */
        if (px != NULL && x0 + 862 < w && y0 + 708 < h) {
            int bad = 0;
            for (int64_t r = 0; r < N; r++)
                for (int64_t i = 0; i < L; i++) {
                    const float v = map[r * L + i];
                    const uint8_t *want = v == 1.0f ? viridis_1 : v == 0.5f ? viridis_50 : viridis_0;
                    bad += !block_is(px, w, x0 + 2 * (uint32_t)i, y0 + 12 * (uint32_t)r, 2, 12, want);
                }
            CHECK_INT_EQ(bad, 0);
            CHECK(count_ink(px, w, 0, 0, w, y0 - 8) > 100); /* title */
        } else {
            CHECK(0);
        }
        free(px);
        CHECK_STATUS(ax_png_write_chain_map(fig, f, "bad\xFF", AX_CHAIN_MAP_MSA_IDENTITY, 8.0f), AX_ERR_INVALID_ARGUMENT);
        CHECK_CONTAINS(ax_last_error(), "chain_name");
        CHECK_STATUS(ax_png_write_chain_map(fig, f, NULL, (ax_chain_map)7, 8.0f), AX_ERR_INVALID_ARGUMENT);
        CHECK_STATUS(ax_png_write_chain_map(fig, f, NULL, AX_CHAIN_MAP_CA_DISTANCE, 8.0f), AX_ERR_INVALID_ARGUMENT);
        CHECK_CONTAINS(ax_last_error(), "no structure");
    }
    char path[320];
    snprintf(path, sizeof path, "%s/msa_identity.png", temp_root);
    CHECK_OK(ax_png_write_heatmap(path, map, N, L, 0.0f, 1.0f, AX_COLORMAP_VIRIDIS));
    uint32_t w = 0, h = 0;
    uint8_t *px = read_png(path, &w, &h);
    CHECK(px != NULL);
    if (px != NULL) {
        CHECK(w == 431 && h == 59);
        CHECK(same_rgb(px, viridis_1));                /* query row */
        CHECK(same_rgb(px + 3 * (431 + 0), viridis_0)); /* row 1 starts with 18 gaps */
        free(px);
    }
#endif
    CHECK_STATUS(ax_msa_identity_map(NULL, map), AX_ERR_INVALID_ARGUMENT);
    free(map);
    ax_chain_features_destroy(f);
}

/* 1cbs: CA of PRO 1 (18.150 13.525 43.680) and PHE 50 (15.485 24.704 39.602), from the ATOM lines.
 * CA pairs closer than 8 A, diagonal included:
 *   zcat 1cbs.cif.gz | awk 'BEGIN{n=0} $1=="ATOM" && $4=="CA"{x[n]=$11;y[n]=$12;z[n]=$13;n++} END{
 *     for(i=0;i<n;i++) for(j=0;j<n;j++) if (sqrt((x[i]-x[j])^2+(y[i]-y[j])^2+(z[i]-z[j])^2) < 8) c++;
 *     print c}'  -> 1419
 *   (no distance lies within 0.0064 A of 8, so float rounding cannot move a pair across) */
static void test_distance_maps(void) {
    ax_structure *s = NULL;
    CHECK_OK(ax_mmcif_read(DATA "/1cbs.cif.gz", &s));
    ax_chain_features *f = NULL;
    if (s != NULL) CHECK_OK(ax_chain_features_create(NULL, &s->chains[0], s->resolution, &f));
    ax_structure_destroy(s);
    if (f == NULL) return;
    const int64_t L = f->seq_length;
    float *dist = malloc((size_t)(L * L) * sizeof(float));
    float *contact = malloc((size_t)(L * L) * sizeof(float));
    CHECK_OK(ax_ca_distance_map(f, dist));
    CHECK_OK(ax_contact_map(f, 8.0f, contact));
    const double dx = 18.150 - 15.485, dy = 13.525 - 24.704, dz = 43.680 - 39.602;
    const double expected = sqrt(dx * dx + dy * dy + dz * dz);
    CHECK(fabs(dist[0 * L + 49] - expected) < 1e-4);
    CHECK(fabs(dist[49 * L + 0] - expected) < 1e-4);
    int64_t contacts = 0, asymmetric = 0;
    for (int64_t i = 0; i < L; i++)
        for (int64_t j = 0; j < L; j++) {
            contacts += contact[i * L + j] == 1.0f;
            asymmetric += dist[i * L + j] != dist[j * L + i];
        }
    CHECK_INT_EQ(contacts, 1419);
    CHECK_INT_EQ(asymmetric, 0);
    CHECK(dist[5 * L + 5] == 0.0f);
#if AXIAL_WITH_PNG
    {
        /* The labelled distance figure: 137 residues scaled up to 5 x 5 pixel cells (685 pixels),
         * viridis over [0, the largest distance]. */
        char fig[320], fig2[320];
        snprintf(fig, sizeof fig, "%s/distance_figure.png", temp_root);
        snprintf(fig2, sizeof fig2, "%s/distance_figure2.png", temp_root);
        CHECK_OK(ax_png_write_chain_map(fig, f, "1cbs_A", AX_CHAIN_MAP_CA_DISTANCE, 8.0f));
        float dmax = 0.0f;
        for (int64_t e = 0; e < L * L; e++) dmax = fmaxf(dmax, dist[e]);
        uint32_t w = 0, h = 0, x0 = 0, y0 = 0;
        uint8_t *px = read_png(fig, &w, &h);
        CHECK(px != NULL && w >= 685 + 100 && w <= 1100 && h >= 685 + 60 && h <= 1100);
        CHECK(px != NULL && find_first(px, w, h, viridis_0, &x0, &y0)); /* residue 1 to itself: 0 A */
        if (px != NULL && x0 + 685 < w && y0 + 685 < h) {
            int bad = 0;
            for (uint32_t i = 0; i < 137; i++) bad += !block_is(px, w, x0 + 5 * i, y0 + 5 * i, 5, 5, viridis_0);
            CHECK_INT_EQ(bad, 0);
            /* PRO 1 - PHE 50, from the coordinates above; colour within one unit (t rounds in float). */
            uint8_t want[3];
            CHECK_OK(ax_colormap_rgb(AX_COLORMAP_VIRIDIS, (float)(expected / dmax), want));
            const uint8_t *cell = px + 3 * ((size_t)y0 * w + x0 + 5 * 49);
            CHECK(near_rgb(cell, want, 1));
            CHECK(block_is(px, w, x0 + 5 * 49, y0, 5, 5, cell) && block_is(px, w, x0, y0 + 5 * 49, 5, 5, cell));
            CHECK(count_ink(px, w, 0, 0, w, y0 - 8) > 100);
        } else {
            CHECK(0);
        }
        free(px);
        CHECK_OK(ax_png_write_chain_map(fig2, f, "1cbs_A", AX_CHAIN_MAP_CA_DISTANCE, 8.0f));
        CHECK(same_file(fig, fig2));
        /* Contacts in grays: a contact is white, the diagonal too. */
        CHECK_OK(ax_png_write_chain_map(fig2, f, "1cbs_A", AX_CHAIN_MAP_CONTACT, 8.0f));
        px = read_png(fig2, &w, &h);
        const uint8_t white[3] = {255, 255, 255}, black[3] = {0, 0, 0};
        CHECK(px != NULL);
        if (px != NULL) {
            /* White is also the background, so the map is found by its frame: the first pixel where a
             * black row and a black column of the frame's size (685 + 2) meet is its corner. */
            uint32_t fx = 0, fy = 0;
            int found = 0;
            for (uint32_t y = 0; y + 1 < h && !found; y++)
                for (uint32_t x = 0; x + 700 < w && !found; x++)
                    if (block_is(px, w, x, y, 687, 1, black) && block_is(px, w, x, y, 1, 687, black)) {
                        fx = x + 1;
                        fy = y + 1;
                        found = 1;
                    }
            CHECK(found);
            if (found) {
                int bad = 0;
                for (int64_t i = 0; i < L; i++)
                    for (int64_t j = 0; j < L; j++)
                        bad += !block_is(px, w, fx + 5 * (uint32_t)j, fy + 5 * (uint32_t)i, 5, 5,
                                         contact[i * L + j] == 1.0f ? white : black);
                CHECK_INT_EQ(bad, 0);
            }
        }
        free(px);
    }
#endif

    /* A residue without CA gives NaN in its row and column. */
    f->all_atom_mask[7 * 37 + AX_ATOM37_CA] = 0.0f;
    CHECK_OK(ax_ca_distance_map(f, dist));
    CHECK_OK(ax_contact_map(f, 8.0f, contact));
    CHECK(isnan(dist[7 * L + 3]) && isnan(dist[3 * L + 7]) && isnan(contact[7 * L + 7]));
    CHECK(!isnan(dist[6 * L + 3]));
    CHECK_STATUS(ax_contact_map(f, 0.0f, contact), AX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ax_contact_map(f, NAN, contact), AX_ERR_INVALID_ARGUMENT);
    ax_chain_features_destroy(f);

    ax_chain_features *seq_only = NULL;
    CHECK_OK(ax_chain_features_from_sequence("ACDE", &seq_only));
    CHECK_STATUS(ax_ca_distance_map(seq_only, dist), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "no structure");
    ax_chain_features_destroy(seq_only);
    free(dist);
    free(contact);
}

/* ---- attention probabilities ----------------------------------------------------------------- */

enum { AB = 2, AN = 3, AS = 5, AH = 2, AD = 4 };

static void test_attention_probabilities(void) {
    th_seed(2024);
    float q[AB * AN * AS * AH * AD], k[AB * AN * AS * AH * AD];
    float mask[AB * AN * AS], pair[AH * AS * AS];
    for (int e = 0; e < AB * AN * AS * AH * AD; e++) {
        q[e] = (float)th_uniform(-1, 1);
        k[e] = (float)th_uniform(-1, 1);
    }
    for (int e = 0; e < AB * AN * AS; e++) mask[e] = th_uniform(0, 1) < 0.2 ? -INFINITY : 0.0f;
    for (int e = 0; e < AH * AS * AS; e++) pair[e] = (float)th_uniform(-2, 2);
    ax_tensor tq, tk, tmask, tpair;
    const int64_t qshape[5] = {AB, AN, AS, AH, AD}, mshape[5] = {AB, AN, 1, 1, AS}, pshape[5] = {1, 1, AH, AS, AS};
    CHECK_OK(ax_tensor_contiguous(&tq, q, AX_F32, 5, qshape));
    CHECK_OK(ax_tensor_contiguous(&tk, k, AX_F32, 5, qshape));
    CHECK_OK(ax_tensor_contiguous(&tmask, mask, AX_F32, 5, mshape));
    CHECK_OK(ax_tensor_contiguous(&tpair, pair, AX_F32, 5, pshape));
    /* Fully mask one (b, n) so its rows must come out as zeros. */
    for (int j = 0; j < AS; j++) mask[(1 * AN + 2) * AS + j] = -INFINITY;

    float out[AS * AS];
    int bad = 0;
    for (int b = 0; b < AB; b++)
        for (int n = 0; n < AN; n++)
            for (int h = 0; h < AH; h++) {
                CHECK_OK(ax_attention_probabilities(&tq, &tk, &tmask, &tpair, b, n, h, out));
                for (int i = 0; i < AS; i++) {
                    double logits[AS], mx = -INFINITY, sum = 0;
                    for (int j = 0; j < AS; j++) {
                        double dot = 0;
                        for (int d = 0; d < AD; d++)
                            dot += (double)q[(((b * AN + n) * AS + i) * AH + h) * AD + d] *
                                   k[(((b * AN + n) * AS + j) * AH + h) * AD + d];
                        logits[j] = dot / sqrt((double)AD) + mask[(b * AN + n) * AS + j] + pair[(h * AS + i) * AS + j];
                        if (logits[j] > mx) mx = logits[j];
                    }
                    for (int j = 0; j < AS; j++) sum += mx == -INFINITY ? 0 : exp(logits[j] - mx);
                    for (int j = 0; j < AS; j++) {
                        const double p = mx == -INFINITY ? 0.0 : exp(logits[j] - mx) / sum;
                        bad += fabs(out[i * AS + j] - p) > 1e-5;
                    }
                }
            }
    CHECK_INT_EQ(bad, 0);
    CHECK_OK(ax_attention_probabilities(&tq, &tk, &tmask, &tpair, 1, 2, 0, out));
    double masked_sum = 0;
    for (int e = 0; e < AS * AS; e++) masked_sum += out[e];
    CHECK(masked_sum == 0.0);

    /* Without biases every row sums to 1; bf16 inputs match the f32 result of the rounded values. */
    uint16_t q16[AB * AN * AS * AH * AD], k16[AB * AN * AS * AH * AD];
    for (int e = 0; e < AB * AN * AS * AH * AD; e++) {
        q16[e] = ax_f32_to_bf16(q[e]);
        k16[e] = ax_f32_to_bf16(k[e]);
        q[e] = ax_bf16_to_f32(q16[e]);
        k[e] = ax_bf16_to_f32(k16[e]);
    }
    ax_tensor tq16, tk16;
    CHECK_OK(ax_tensor_contiguous(&tq16, q16, AX_BF16, 5, qshape));
    CHECK_OK(ax_tensor_contiguous(&tk16, k16, AX_BF16, 5, qshape));
    float out16[AS * AS];
    CHECK_OK(ax_attention_probabilities(&tq16, &tk16, NULL, NULL, 1, 1, 1, out16));
    CHECK_OK(ax_attention_probabilities(&tq, &tk, NULL, NULL, 1, 1, 1, out));
    bad = 0;
    for (int i = 0; i < AS; i++) {
        double sum = 0;
        for (int j = 0; j < AS; j++) {
            sum += out16[i * AS + j];
            bad += fabs(out16[i * AS + j] - out[i * AS + j]) > 1e-6;
        }
        bad += fabs(sum - 1.0) > 1e-5;
    }
    CHECK_INT_EQ(bad, 0);

    /* Errors name the tensor. */
    CHECK_STATUS(ax_attention_probabilities(&tq, &tk, NULL, NULL, 2, 0, 0, out), AX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ax_attention_probabilities(&tq, &tk16, NULL, NULL, 0, 0, 0, out), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "k");
    const int64_t bad_pshape[5] = {1, 1, 3, AS, AS};
    ax_tensor tbad;
    CHECK_OK(ax_tensor_contiguous(&tbad, pair, AX_F32, 5, bad_pshape));
    CHECK_STATUS(ax_attention_probabilities(&tq, &tk, NULL, &tbad, 0, 0, 0, out), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "bias_pair");
    tbad = tq;
    tbad.device.type = AX_CUDA;
    CHECK_STATUS(ax_attention_probabilities(&tbad, &tk, NULL, NULL, 0, 0, 0, out), AX_ERR_INVALID_ARGUMENT);
    tbad = tq;
    tbad.ndim = 4;
    CHECK_STATUS(ax_attention_probabilities(&tbad, &tk, NULL, NULL, 0, 0, 0, out), AX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ax_attention_probabilities(&tq, &tk, NULL, NULL, 0, 0, 0, NULL), AX_ERR_INVALID_ARGUMENT);
}

int main(void) {
    make_temp_root();
    RUN(test_colormaps);
#if AXIAL_WITH_PNG
    RUN(test_png_roundtrip);
    RUN(test_png_errors);
    RUN(test_figure_layout);
    RUN(test_figure_errors);
    RUN(test_attention_figure);
    RUN(test_figure_ticks);
    RUN(test_deep_msa_figure);
#else
    RUN(test_png_unsupported);
#endif
    RUN(test_figure_text);
    RUN(test_identity_map);
    RUN(test_distance_maps);
    RUN(test_attention_probabilities);
    remove_tree(temp_root);
#if AXIAL_WITH_PNG
    /* The library must leave these caches to the host program (it may use fontconfig itself); the test
     * owns the process, so it frees them and LeakSanitizer checks the rest. */
    cairo_debug_reset_static_data();
    FcFini();
#endif
    return th_finish();
}
