#pragma once
#include <yara.h>

// libyara's structures hold their pointers in unions with arena references (DECLARE_REFERENCE) and are walked
// with macros (yr_rule_metas_foreach...); neither imports into Swift usefully, so these accessors walk them here.

static inline const char *cw_yr_rule_identifier(const YR_RULE *rule) { return rule->identifier; }
static inline const char *cw_yr_rule_namespace(const YR_RULE *rule) { return rule->ns->name; }
static inline const char *cw_yr_rule_tags(const YR_RULE *rule) { return rule->tags; }
static inline int cw_yr_rule_is_private(const YR_RULE *rule) { return RULE_IS_PRIVATE(rule) ? 1 : 0; }

/// The rules table and its end: the index of a rule in it is stable for one compiled set.
static inline const YR_RULE *cw_yr_rules_first(const YR_RULES *rules) { return rules->rules_table; }
static inline int cw_yr_rule_is_null(const YR_RULE *rule) { return RULE_IS_NULL(rule) ? 1 : 0; }

static inline const YR_META *cw_yr_rule_first_meta(const YR_RULE *rule) { return rule->metas; }
static inline const YR_META *cw_yr_meta_next(const YR_META *meta) { return META_IS_LAST_IN_RULE(meta) ? NULL : meta + 1; }
static inline const char *cw_yr_meta_identifier(const YR_META *meta) { return meta->identifier; }
static inline const char *cw_yr_meta_string(const YR_META *meta) { return meta->string; }

static inline const YR_STRING *cw_yr_rule_first_string(const YR_RULE *rule) { return rule->strings; }
static inline const YR_STRING *cw_yr_string_next(const YR_STRING *string) { return STRING_IS_LAST_IN_RULE(string) ? NULL : string + 1; }
static inline const char *cw_yr_string_identifier(const YR_STRING *string) { return string->identifier; }

/// The first match of `string` in this scan that is not of a private string, or NULL.
static inline const YR_MATCH *cw_yr_string_first_match(YR_SCAN_CONTEXT *context, const YR_STRING *string) {
    const YR_MATCH *match = context->matches[string->idx].head;
    while (match != NULL && match->is_private) match = match->next;
    return match;
}
static inline const YR_MATCH *cw_yr_match_next(const YR_MATCH *match) {
    match = match->next;
    while (match != NULL && match->is_private) match = match->next;
    return match;
}

static const int cw_yr_callback_continue = CALLBACK_CONTINUE;
static const int cw_yr_msg_rule_matching = CALLBACK_MSG_RULE_MATCHING;
static const int cw_yr_msg_import_module = CALLBACK_MSG_IMPORT_MODULE;
static const int cw_yr_error_scan_timeout = ERROR_SCAN_TIMEOUT;
static const int cw_yr_error_insufficient_memory = ERROR_INSUFFICIENT_MEMORY;
static const int cw_yr_error_too_many_matches = ERROR_TOO_MANY_MATCHES;
static const int cw_yr_error_level_warning = YARA_ERROR_LEVEL_WARNING;
static const int cw_yr_meta_type_integer = META_TYPE_INTEGER;
static const int cw_yr_meta_type_string = META_TYPE_STRING;
static const int cw_yr_meta_type_boolean = META_TYPE_BOOLEAN;
