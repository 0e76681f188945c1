/*
 * chat_template.c — reading a GGUF's chat template. Axial does not run Jinja: it reads the GGUF's template as a
 * sequence of tags and accepts it only when that sequence is the ChatML loop it renders, e.g.
 * SmolLM2's (with the default system message some templates put first):
 *
 *   {% for message in messages %}
 *     {% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\n...<|im_end|>\n' }}{% endif %}
 *     {{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}
 *   {% endfor %}
 *   {% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}
 *
 * (written here on several lines; whitespace between tags must be removed by {%- / -%} markers, as
 * jinja2 and HF's trim_blocks would disagree on it). Tags are compared token by token, so spacing
 * inside a tag, quotes, message.role for message['role'] and how the message line is split into
 * string literals and raw text do not matter. Anything else (another test of the first message, an
 * else branch, filters, bos_token, tools, other escapes) leaves the template unrendered, with the
 * reason and its byte offset kept for the error chat calls give: a template is rendered exactly as
 * jinja2 renders it, or not at all. tokenizer_chat.c renders what is accepted.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "llm/tokenizer_internal.h"
#include "llm/unicode.h"

/* ---- tags and their tokens ---- */

enum { CT_IDENT, CT_STR, CT_NUM, CT_OP };
enum { CT_MAX_TOKENS = 48 };

typedef struct ct_token {
    int kind;
    const char *p; /* CT_STR: the literal's body between the quotes (escaped unless raw) */
    size_t n;
    int raw;       /* CT_STR from ".name": the bytes are the value */
} ct_token;

typedef struct ct_tag {
    enum { CT_TEXT, CT_STMT, CT_EXPR } kind;
    const char *p; /* CT_TEXT: the text left after whitespace control; else the tag's inner text */
    size_t n;
    size_t at;     /* byte offset in the template */
} ct_tag;

static int ct_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

/* Bytes of the whitespace character that s[0, n) starts with (0: none), as Python's str.isspace
 * counts it, which is what jinja2's "-" trimming strips: ASCII whitespace and \x1c-\x1f, U+0085,
 * U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000 (ASCII alone had left a
 * no-break space that jinja2 removes). */
static size_t ct_uspace_len(const char *p, size_t n) {
    if (n == 0) return 0;
    uint32_t cp;
    const int len = llm_utf8_next((const unsigned char *)p, n, &cp);
    const int space = (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 ||
                      cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
                      cp == 0x202F || cp == 0x205F || cp == 0x3000;
    return space ? (size_t)len : 0;
}

/* The same for the whitespace character that s[0, n) ends with. */
static size_t ct_uspace_len_before(const char *s, size_t n) {
    for (size_t k = 1; k <= 3 && k <= n; k++)
        if (ct_uspace_len(s + n - k, k) == k) return k;
    return 0;
}
static int ct_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static int ct_digit(char c) { return c >= '0' && c <= '9'; }

/* The value of escape "\c", or -1 for one not read here (Python's \x, \u, \N, octal, ...). */
static int ct_escape(char c) {
    switch (c) {
        case 'n': return '\n';
        case 't': return '\t';
        case 'r': return '\r';
        case '\\': case '\'': case '"': return c;
        default: return -1;
    }
}

/* A string token's value, byte by byte: the next byte at *i (advanced), or -1 at the end. */
static int ct_str_next(const ct_token *t, size_t *i) {
    if (*i >= t->n) return -1;
    const char c = t->p[(*i)++];
    if (t->raw || c != '\\') return (unsigned char)c;
    return ct_escape(t->p[(*i)++]); /* the lexer checked the escape */
}

/* Splits a tag's inner text into tokens; ".name" becomes "[ 'name' ]". 0 on a token not read here. */
static int ct_lex(const char *s, size_t n, ct_token *tok, int *count) {
    static const char *const ops[] = {"!=", "==", "<=", ">=", "[", "]", "(", ")", "+", "-", "*", "/", "%",
                                      "<", ">", "|", "~", ",", ":", "=", "{", "}", "!"};
    int k = 0;
    size_t i = 0;
    while (i < n) {
        if (ct_space(s[i])) {
            i++;
            continue;
        }
        if (k + 3 > CT_MAX_TOKENS) return 0;
        ct_token *t = &tok[k];
        t->raw = 0;
        if (s[i] == '\'' || s[i] == '"') {
            const char q = s[i++];
            const size_t start = i;
            while (i < n && s[i] != q) {
                if (s[i] == '\\') {
                    if (i + 1 >= n || ct_escape(s[i + 1]) < 0) return 0;
                    i++;
                }
                i++;
            }
            if (i >= n) return 0;
            *t = (ct_token){CT_STR, s + start, i - start, 0};
            i++;
            k++;
        } else if (s[i] == '.' && i + 1 < n && ct_alpha(s[i + 1])) {
            size_t e = i + 1;
            while (e < n && (ct_alpha(s[e]) || ct_digit(s[e]))) e++;
            tok[k++] = (ct_token){CT_OP, "[", 1, 0};
            tok[k++] = (ct_token){CT_STR, s + i + 1, e - i - 1, 1};
            tok[k++] = (ct_token){CT_OP, "]", 1, 0};
            i = e;
        } else if (ct_alpha(s[i]) || ct_digit(s[i])) {
            const int digits = ct_digit(s[i]);
            size_t e = i;
            while (e < n && (ct_alpha(s[e]) || ct_digit(s[e]))) e++;
            *t = (ct_token){digits ? CT_NUM : CT_IDENT, s + i, e - i, 0};
            i = e;
            k++;
        } else {
            size_t len = 0;
            for (size_t o = 0; o < sizeof ops / sizeof ops[0] && len == 0; o++) {
                const size_t m = strlen(ops[o]);
                if (i + m <= n && memcmp(s + i, ops[o], m) == 0) len = m;
            }
            if (len == 0) return 0;
            *t = (ct_token){CT_OP, s + i, len, 0};
            i += len;
            k++;
        }
    }
    *count = k;
    return 1;
}

static int ct_token_eq(const ct_token *a, const ct_token *b) {
    if (a->kind != b->kind) return 0;
    if (a->kind != CT_STR) return a->n == b->n && memcmp(a->p, b->p, a->n) == 0;
    size_t i = 0, j = 0;
    for (;;) {
        const int x = ct_str_next(a, &i), y = ct_str_next(b, &j);
        if (x != y) return 0;
        if (x < 0) return 1;
    }
}

/* 1 when tag is a statement whose tokens are those of `pattern`. */
static int ct_stmt_is(const ct_tag *tag, const char *pattern) {
    ct_token a[CT_MAX_TOKENS], b[CT_MAX_TOKENS];
    int na = 0, nb = 0;
    if (tag->kind != CT_STMT || !ct_lex(tag->p, tag->n, a, &na) || !ct_lex(pattern, strlen(pattern), b, &nb)) return 0;
    if (na != nb) return 0;
    for (int i = 0; i < na; i++)
        if (!ct_token_eq(&a[i], &b[i])) return 0;
    return 1;
}

/* What a run of output tags writes, as parts: string bytes, or a message's role or content. */
enum { CT_PART_ROLE = -2, CT_PART_CONTENT = -3 };

typedef struct ct_out {
    char *bytes;    /* the string parts back to back */
    size_t n, cap;
    int parts[8];   /* >= 0: a string part ending at that byte count; or CT_PART_ROLE / CT_PART_CONTENT */
    int n_parts;
} ct_out;

/* Appends bytes to the string part in progress. 0 when out of memory (*oom set). */
static int ct_out_bytes(ct_out *o, const char *s, size_t n, int raw_escaped, int *oom) {
    if (o->n + n + 1 > o->cap) {
        const size_t cap = (o->n + n + 1) * 2;
        char *grown = realloc(o->bytes, cap);
        if (grown == NULL) return (*oom = 1, 0);
        o->bytes = grown, o->cap = cap;
    }
    if (!raw_escaped) {
        memcpy(o->bytes + o->n, s, n);
        o->n += n;
    } else {
        const ct_token t = {CT_STR, s, n, 0};
        size_t i = 0;
        for (int c; (c = ct_str_next(&t, &i)) >= 0;) o->bytes[o->n++] = (char)c;
    }
    if (o->n_parts > 0 && o->parts[o->n_parts - 1] >= 0) o->parts[o->n_parts - 1] = (int)o->n;
    else {
        if (o->n_parts == (int)(sizeof o->parts / sizeof o->parts[0])) return 0;
        o->parts[o->n_parts++] = (int)o->n;
    }
    return 1;
}

/* Adds an output tag (text, or "{{ a + b + ... }}" of string literals and, with messages, of
 * message['role'] / message['content']) to o. 0 when the tag is something else. */
static int ct_out_tag(ct_out *o, const ct_tag *tag, int messages, int *oom) {
    if (tag->kind == CT_TEXT) return ct_out_bytes(o, tag->p, tag->n, 0, oom);
    if (tag->kind != CT_EXPR) return 0;
    ct_token t[CT_MAX_TOKENS];
    int n = 0;
    if (!ct_lex(tag->p, tag->n, t, &n) || n == 0) return 0;
    for (int i = 0; i < n;) {
        if (i > 0) {
            if (t[i].kind != CT_OP || t[i].n != 1 || t[i].p[0] != '+') return 0;
            i++;
        }
        if (i < n && t[i].kind == CT_STR) {
            if (!ct_out_bytes(o, t[i].p, t[i].n, !t[i].raw, oom)) return 0;
            i++;
            continue;
        }
        /* message [ 'role' ] */
        if (!messages || i + 4 > n || t[i].kind != CT_IDENT || t[i].n != 7 || memcmp(t[i].p, "message", 7) != 0)
            return 0;
        const ct_token role = {CT_STR, "role", 4, 1}, content = {CT_STR, "content", 7, 1};
        const ct_token open = {CT_OP, "[", 1, 0}, close = {CT_OP, "]", 1, 0};
        if (!ct_token_eq(&t[i + 1], &open) || !ct_token_eq(&t[i + 3], &close)) return 0;
        const int part = ct_token_eq(&t[i + 2], &role) ? CT_PART_ROLE
                         : ct_token_eq(&t[i + 2], &content) ? CT_PART_CONTENT : 0;
        if (part == 0 || o->n_parts == (int)(sizeof o->parts / sizeof o->parts[0])) return 0;
        o->parts[o->n_parts++] = part;
        i += 4;
    }
    return 1;
}

/* Cuts the template into text and tags; text is what is left after {%- -%} whitespace control.
 * Text whose rendering depends on the environment is refused (*why set): a newline right after a
 * block or comment tag (Hugging Face's trim_blocks drops it, plain jinja2 writes it) and spaces or
 * tabs that start a line and end before one (lstrip_blocks). */
static int ct_split(const char *s, size_t len, ct_tag **tags_out, int *n_out, size_t *bad_at, const char **why,
                    int *oom) {
    ct_tag *tags = NULL;
    int n = 0, cap = 0, trim_next = 0, after_block = 0;
    size_t i = 0;
    while (i < len) {
        size_t open = i;
        while (open + 1 < len && !(s[open] == '{' && (s[open + 1] == '{' || s[open + 1] == '%' || s[open + 1] == '#')))
            open++;
        if (open + 1 >= len) open = len;
        const char *text = s + i;
        size_t text_n = open - i;
        const int trim_prev = open < len && open + 2 < len && s[open + 2] == '-';
        for (size_t k; trim_next && (k = ct_uspace_len(text, text_n)) > 0;) text += k, text_n -= k;
        for (size_t k; trim_prev && (k = ct_uspace_len_before(text, text_n)) > 0;) text_n -= k;
        const int before_block = open + 1 < len && (s[open + 1] == '%' || s[open + 1] == '#');
        size_t blank = text_n; /* the run of spaces and tabs ending the text */
        while (blank > 0 && (text[blank - 1] == ' ' || text[blank - 1] == '\t')) blank--;
        const int line_start = blank > 0 ? text[blank - 1] == '\n' : text == s;
        if (text_n > 0 && ((after_block && !trim_next && text[0] == '\n') ||
                           (before_block && !trim_prev && blank < text_n && line_start))) {
            free(tags);
            *bad_at = i;
            *why = "whitespace beside a {% %} tag that jinja2 writes and Hugging Face's trim_blocks/lstrip_blocks "
                   "drop (remove it, or mark the tag {%- -%})";
            return 0;
        }
        trim_next = 0;
        ct_tag tag = {CT_TEXT, text, text_n, i};
        for (int pass = 0; pass < 2; pass++) {
            if (pass == 1) {
                if (open >= len) break;
                const char kind = s[open + 1];
                const char *closer = kind == '{' ? "}}" : kind == '%' ? "%}" : "#}";
                size_t b = open + 2 + (size_t)trim_prev, e = b;
                char quote = 0;
                for (; e + 1 < len; e++) {
                    if (quote) {
                        if (s[e] == '\\') e++;
                        else if (s[e] == quote) quote = 0;
                    } else if (kind != '#' && (s[e] == '\'' || s[e] == '"')) quote = s[e];
                    else if (s[e] == closer[0] && s[e + 1] == closer[1]) break;
                }
                if (e + 1 >= len) return (free(tags), *bad_at = open, *why = "a tag without its closing bracket", 0);
                i = e + 2;
                after_block = kind != '{';
                if (e > b && s[e - 1] == '-') trim_next = 1, e--;
                if (kind == '#') continue;
                tag = (ct_tag){kind == '{' ? CT_EXPR : CT_STMT, s + b, e - b, open};
            } else if (text_n == 0) continue;
            if (n == cap) {
                cap = cap ? 2 * cap : 16;
                ct_tag *grown = realloc(tags, (size_t)cap * sizeof *tags);
                if (grown == NULL) return (free(tags), *oom = 1, 0);
                tags = grown;
            }
            tags[n++] = tag;
        }
        if (open >= len) break;
    }
    *tags_out = tags;
    *n_out = n;
    return 1;
}

/* 1 when the parts of o are exactly the ChatML message line "<|im_start|>" ROLE "\n" CONTENT "<|im_end|>\n". */
static int ct_out_is_chatml_line(const ct_out *o) {
    static const char want[] = "<|im_start|>\n<|im_end|>\n";
    if (o->n_parts != 5 || o->parts[1] != CT_PART_ROLE || o->parts[3] != CT_PART_CONTENT) return 0;
    return o->parts[0] == 12 && o->parts[2] == 13 && o->parts[4] == 24 && o->n == 24 && memcmp(o->bytes, want, 24) == 0;
}

/* Reads the if-block's output at tags[*i] up to its {% endif %}: string parts only. 0 on another shape. */
static int ct_if_block(const ct_tag *tags, int n, int *i, ct_out *o, int *oom) {
    /* an {% else %} or {% elif %} is a statement, which ct_out_tag refuses */
    for (; *i < n && !ct_stmt_is(&tags[*i], "endif"); (*i)++)
        if (!ct_out_tag(o, &tags[*i], 0, oom)) return 0;
    if (*i >= n) return 0;
    (*i)++;
    return 1;
}

static ax_status ct_refuse(llm_tokenizer *tok, const ct_tag *tags, int n, int i, const char *why) {
    tok->chat_refusal = why;
    tok->chat_refusal_at = i < n ? (int64_t)tags[i].at : -1;
    return AX_OK;
}

ax_status llm_chat_template_parse(llm_tokenizer *tok, const char *tmpl, size_t len) {
    tok->chat_kind = LLM_CHAT_NONE;
    tok->chat_refusal = NULL;
    tok->chat_refusal_at = -1;
    ct_tag *tags = NULL;
    int n = 0, oom = 0;
    size_t bad_at = 0;
    const char *why = NULL;
    /* jinja2 turns \r\n and \r into \n before anything else, escapes aside: refused rather than
     * followed, as no ChatML template needs them */
    const char *cr = memchr(tmpl, '\r', len);
    if (cr != NULL) {
        tok->chat_refusal = "a raw carriage return";
        tok->chat_refusal_at = (int64_t)(cr - tmpl);
        return AX_OK;
    }
    if (len > 0 && tmpl[len - 1] == '\n') len--; /* jinja2 drops one trailing newline of the source */
    if (!ct_split(tmpl, len, &tags, &n, &bad_at, &why, &oom)) {
        if (oom) return ax_set_error(AX_ERR_OUT_OF_MEMORY, "tokenizer.chat_template: %zu bytes", len);
        tok->chat_refusal = why;
        tok->chat_refusal_at = (int64_t)bad_at;
        return AX_OK;
    }
    ct_out sys = {0}, line = {0}, gen = {0};
    ax_status st = AX_OK;
    int i = 0;
    if (i >= n || !ct_stmt_is(&tags[i], "for message in messages")) {
        st = ct_refuse(tok, tags, n, i, "expected {% for message in messages %} first");
        goto done;
    }
    i++;
    if (i < n && ct_stmt_is(&tags[i], "if loop.first and messages[0]['role'] != 'system'")) {
        const int at = i++;
        if (!ct_if_block(tags, n, &i, &sys, &oom) || sys.n_parts == 0) {
            st = ct_refuse(tok, tags, n, at, "the default-system block is not one string output then {% endif %}");
            goto done;
        }
    }
    while (i < n && !ct_stmt_is(&tags[i], "endfor")) {
        if (!ct_out_tag(&line, &tags[i], 1, &oom)) {
            st = ct_refuse(tok, tags, n, i, "inside the message loop, a tag that is not the ChatML message line");
            goto done;
        }
        i++;
    }
    if (i >= n || !ct_out_is_chatml_line(&line)) {
        st = ct_refuse(tok, tags, n, i, "the message line is not '<|im_start|>' + message['role'] + '\\n' + "
                                        "message['content'] + '<|im_end|>\\n' (or the loop is not closed)");
        goto done;
    }
    i++;
    if (i < n && ct_stmt_is(&tags[i], "if add_generation_prompt")) {
        const int at = i++;
        if (!ct_if_block(tags, n, &i, &gen, &oom) || gen.n != 22 || memcmp(gen.bytes, "<|im_start|>assistant\n", 22)) {
            st = ct_refuse(tok, tags, n, at,
                           "the add_generation_prompt block does not write '<|im_start|>assistant\\n'");
            goto done;
        }
        tok->chat_generation_prompt = 1;
    }
    if (i < n) {
        st = ct_refuse(tok, tags, n, i, "text or a tag after the ChatML loop and generation prompt");
        goto done;
    }
    if (sys.n_parts > 0) {
        tok->chat_default_system = sys.bytes, tok->chat_default_system_len = sys.n;
        sys.bytes = NULL;
    }
    tok->chat_kind = LLM_CHAT_CHATML;
done:
    if (oom) {
        st = ax_set_error(AX_ERR_OUT_OF_MEMORY, "tokenizer.chat_template: %zu bytes", len);
        tok->chat_kind = LLM_CHAT_NONE;
        tok->chat_generation_prompt = 0;
    }
    if (tok->chat_kind != LLM_CHAT_CHATML) tok->chat_generation_prompt = 0;
    free(sys.bytes);
    free(line.bytes);
    free(gen.bytes);
    free(tags);
    return st;
}
