/*
 * fuzz_chat_template.c — libFuzzer target for the chat-template reader (src/llm/chat_template.c):
 * the input is a template. Whatever it holds, reading it must not fault, leak or overrun; a refused
 * template must say why with an offset inside it; an accepted one must render a conversation whose
 * length the capacity-0 call predicts, made of the default system text (when the first message is
 * not "system"), the ChatML lines and the generation prompt, byte for byte.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_parsers.h"
#include "llm/tokenizer.h"
#include "llm/tokenizer_internal.h"

static const char want_lines[] = "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nYo<|im_end|>\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    llm_tokenizer t;
    memset(&t, 0, sizeof t);
    if (llm_chat_template_parse(&t, (const char *)data, size) != AX_OK) __builtin_trap(); /* only OOM fails */
    if (t.chat_kind != LLM_CHAT_CHATML) {
        if (t.chat_refusal == NULL || t.chat_refusal_at >= (int64_t)size || t.chat_default_system != NULL)
            __builtin_trap();
        return 0;
    }
    const ax_llm_chat_message conv[2] = {{"user", "Hi"}, {"assistant", "Yo"}};
    const int gen = t.chat_generation_prompt;
    size_t need = 0;
    if (llm_tokenizer_chat_apply(&t, conv, 2, gen, NULL, 0, &need) != AX_ERR_INVALID_ARGUMENT) __builtin_trap();
    const size_t sys = t.chat_default_system_len, lines = sizeof want_lines - 1, prompt = gen ? 22 : 0;
    if (need != sys + lines + prompt) __builtin_trap();
    char *text = malloc(need + 1);
    size_t len = 0;
    if (text == NULL || llm_tokenizer_chat_apply(&t, conv, 2, gen, text, need + 1, &len) != AX_OK || len != need ||
        (sys > 0 && memcmp(text, t.chat_default_system, sys) != 0) || memcmp(text + sys, want_lines, lines) != 0 ||
        (gen && memcmp(text + sys + lines, "<|im_start|>assistant\n", 22) != 0) || text[need] != '\0') {
        __builtin_trap();
    }
    free(text);
    free(t.chat_default_system);
    return 0;
}
