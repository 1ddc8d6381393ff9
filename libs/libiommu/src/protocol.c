/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Names and metadata of the two protocols, expanded from the tables in protocol.h: the server
 * dispatcher checks message shape against them, the documentation tool prints them, and tests
 * check that no method ever returns an error its table does not list.
 */
#include <iommu/protocol.h>

#include <stddef.h>

#define ERR_TEXT_(name, val, text) [val] = text,
#define ERR_NAME_(name, val, text) [val] = #name,
static const char *const err_text[] = {IOMMU_ERRORS(ERR_TEXT_)};
static const char *const err_name[] = {IOMMU_ERRORS(ERR_NAME_)};
static const char *const hp_err_text[] = {IOMMU_HP_ERRORS(ERR_TEXT_)};
static const char *const hp_err_name[] = {IOMMU_HP_ERRORS(ERR_NAME_)};

const char *iommu_strerror(unsigned err)
{
    return err < IOMMU_ERR_COUNT_ ? err_text[err] : "unknown error";
}
const char *iommu_errname(unsigned err)
{
    return err < IOMMU_ERR_COUNT_ ? err_name[err] : "IOMMU_ERR_?";
}
const char *iommu_hp_strerror(unsigned err)
{
    return err < IOMMU_HP_ERR_COUNT_ ? hp_err_text[err] : "unknown error";
}
const char *iommu_hp_errname(unsigned err)
{
    return err < IOMMU_HP_ERR_COUNT_ ? hp_err_name[err] : "IOMMU_HP_ERR_?";
}

#define NAME_(n, d) #n,
#define DOC_(n, d) d,
/* Each list gets a trailing NULL so that empty lists are valid arrays. */
#define LISTS_(U, l, v, A, R, c, E, d)                                                             \
    static const char *const l##_arg_names[] = {A(NAME_) NULL};                                    \
    static const char *const l##_arg_docs[] = {A(DOC_) NULL};                                      \
    static const char *const l##_ret_names[] = {R(NAME_) NULL};                                    \
    static const char *const l##_ret_docs[] = {R(DOC_) NULL};
IOMMU_CLIENT_METHODS(LISTS_)
IOMMU_HOTPLUG_METHODS(LISTS_)
IOMMU_ROOT_METHODS(LISTS_)

/* One method-info entry; proto and the error-bit macro (client/root or hotplug) per table. */
#define INFO_(proto, EBIT, U, l, v, A, R, c, E, d)                                                 \
    {v,                                                                                            \
     #l,                                                                                           \
     d,                                                                                            \
     0 A(IOMMU_COUNT_),                                                                            \
     0 R(IOMMU_COUNT_),                                                                            \
     c,                                                                                            \
     (v) == IOMMU_LABEL_MAP_VEC ? IOMMU_VEC_MAX : 0 A(IOMMU_COUNT_),                               \
     0 E(EBIT),                                                                                    \
     proto,                                                                                        \
     l##_arg_names,                                                                                \
     l##_arg_docs,                                                                                 \
     l##_ret_names,                                                                                \
     l##_ret_docs},
#define CLIENT_INFO_(...) INFO_(IOMMU_PROTO_CLIENT, IOMMU_EBIT_, __VA_ARGS__)
#define HP_INFO_(...) INFO_(IOMMU_PROTO_HOTPLUG, IOMMU_HP_EBIT_, __VA_ARGS__)
#define ROOT_INFO_(...) INFO_(IOMMU_PROTO_ROOT, IOMMU_EBIT_, __VA_ARGS__)
static const struct iommu_method_info methods[] = {IOMMU_CLIENT_METHODS(
    CLIENT_INFO_) IOMMU_HOTPLUG_METHODS(HP_INFO_) IOMMU_ROOT_METHODS(ROOT_INFO_)};

const struct iommu_method_info *iommu_methods(unsigned *n)
{
    *n = (unsigned)(sizeof(methods) / sizeof(methods[0]));
    return methods;
}

/* Labels are small per protocol: index them directly (built on first use). */
#define LABEL_SPAN 128u
#define LABEL_RANGE_(U, l, v, A, R, c, E, d)                                                       \
    _Static_assert((v) > 0 && (v) < LABEL_SPAN, "label " #l " outside the lookup table");
IOMMU_CLIENT_METHODS(LABEL_RANGE_)
IOMMU_HOTPLUG_METHODS(LABEL_RANGE_)
IOMMU_ROOT_METHODS(LABEL_RANGE_)
/* Labels are unique across the protocols: a duplicate would be two enumerators of one value. */
#define LABEL_UNIQUE_(U, l, v, A, R, c, E, d) LABEL_UNIQUE_##v,
enum {
    IOMMU_CLIENT_METHODS(LABEL_UNIQUE_) IOMMU_HOTPLUG_METHODS(LABEL_UNIQUE_)
        IOMMU_ROOT_METHODS(LABEL_UNIQUE_)
};
static uint8_t by_label[LABEL_SPAN];

const struct iommu_method_info *iommu_method_find(uint64_t label)
{
    if (by_label[methods[0].label] == 0) {
        for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
            by_label[methods[i].label] = (uint8_t)(i + 1);
        }
    }
    if (label >= LABEL_SPAN || by_label[label] == 0) {
        return NULL;
    }
    return &methods[by_label[label] - 1];
}
