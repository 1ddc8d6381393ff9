/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Encoder and side-effect-free decoder of the device-gone protocol, the method table they check
 * messages against, and the text of every enum, all expanded from the tables in hotplug/gone.h.
 * A message from a driver is untrusted: the decoder checks label, length and handle before the
 * server looks at it.
 */
#include <hotplug/gone.h>

#include <stddef.h>

#define ERR_TEXT_(name, value, text) [value] = text,
#define ERR_NAME_(name, value, text) [value] = #name,
static const char *const err_text[] = {HP_GONE_ERRORS(ERR_TEXT_)};
static const char *const err_name[] = {HP_GONE_ERRORS(ERR_NAME_)};

const char *hp_gone_err_str(int err)
{
    return err >= 0 && err < HP_GONE_ERR_COUNT_ ? err_text[err] : "unknown error";
}

const char *hp_gone_err_name(int err)
{
    return err >= 0 && err < HP_GONE_ERR_COUNT_ ? err_name[err] : "HP_GONE_ERR_?";
}

#define NAME_(n, d) #n,
#define DOC_(n, d) d,
/* Each list gets a trailing NULL so that empty lists are valid arrays. */
#define LISTS_(U, l, v, A, R, dir, E, d)                                                           \
    static const char *const l##_arg_names[] = {A(NAME_) NULL};                                    \
    static const char *const l##_arg_docs[] = {A(DOC_) NULL};                                      \
    static const char *const l##_ret_names[] = {R(NAME_) NULL};                                    \
    static const char *const l##_ret_docs[] = {R(DOC_) NULL};
HP_GONE_METHODS(LISTS_)

#define COUNT_(n, d) +1
#define EBIT_(e) | HP_GONE_ERRBIT(HP_GONE_ERR_##e)
#define INFO_(U, l, v, A, R, dir, E, d)                                                            \
    {v,                                                                                            \
     #l,                                                                                           \
     d,                                                                                            \
     0 A(COUNT_),                                                                                  \
     0 R(COUNT_),                                                                                  \
     HP_GONE_##dir,                                                                                \
     0u E(EBIT_),                                                                                  \
     l##_arg_names,                                                                                \
     l##_arg_docs,                                                                                 \
     l##_ret_names,                                                                                \
     l##_ret_docs},
static const struct hp_gone_method_info methods[] = {HP_GONE_METHODS(INFO_)};

/* The codec below moves exactly one register, the handle; a method with another shape would
 * need it extended. Labels index the decoder's accept mask, so they stay below 32. */
#define SHAPE_(U, l, v, A, R, dir, E, d)                                                           \
    _Static_assert((0 A(COUNT_)) == HP_GONE_MSG_LENGTH, #l " carries one register");               \
    _Static_assert((v) > 0 && (v) < 32, "label of " #l " outside the accept mask");
HP_GONE_METHODS(SHAPE_)

const struct hp_gone_method_info *hp_gone_methods(unsigned *n)
{
    *n = (unsigned)(sizeof(methods) / sizeof(methods[0]));
    return methods;
}

const struct hp_gone_method_info *hp_gone_method_find(uint64_t label)
{
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (methods[i].label == label) {
            return &methods[i];
        }
    }
    return NULL;
}

const char *hp_gone_label_str(uint64_t label)
{
    switch (label) {
#define LABEL_CASE_(U, l, v, A, R, dir, E, d)                                                      \
    case v:                                                                                        \
        return "HP_GONE_" #U;
        HP_GONE_METHODS(LABEL_CASE_)
#undef LABEL_CASE_
    default:
        return "unknown";
    }
}

uint32_t hp_gone_label_errors(uint64_t label)
{
    const struct hp_gone_method_info *mi = hp_gone_method_find(label);
    return mi != NULL ? mi->errors : 0;
}

static bool handle_ok(uint64_t h)
{
    return h <= HP_HANDLE_MAX && HP_HANDLE_GEN(h) != 0;
}

int hp_gone_encode(const struct hp_gone_msg *msg, uint64_t *label, uint64_t *mr, unsigned mr_cap,
                   unsigned *len)
{
    const struct hp_gone_method_info *mi = msg != NULL ? hp_gone_method_find(msg->label) : NULL;
    if (mi == NULL || label == NULL || mr == NULL || len == NULL) {
        return HP_GONE_ERR_LABEL;
    }
    if (mr_cap < mi->nargs) {
        return HP_GONE_ERR_LENGTH;
    }
    if (!handle_ok(msg->handle)) {
        return HP_GONE_ERR_HANDLE;
    }
    *label = mi->label;
    mr[0] = msg->handle;
    *len = mi->nargs;
    return HP_GONE_OK;
}

int hp_gone_decode(uint64_t label, const uint64_t *mr, unsigned len, uint32_t accept,
                   struct hp_gone_msg *out)
{
    const struct hp_gone_method_info *mi = hp_gone_method_find(label);
    if (out == NULL || mi == NULL || (accept != 0 && !(accept & (1u << mi->label)))) {
        return HP_GONE_ERR_LABEL;
    }
    if (len != mi->nargs || mr == NULL) {
        return HP_GONE_ERR_LENGTH;
    }
    if (!handle_ok(mr[0])) {
        return HP_GONE_ERR_HANDLE;
    }
    out->label = (enum hp_gone_label)label;
    out->handle = (hp_handle_t)mr[0];
    return HP_GONE_OK;
}
