/*
 * labelselector.h - private to api/: the structured metav1.LabelSelector
 * ({"matchLabels":{...},"matchExpressions":[{"key","operator","values"}]}) as the built-in kinds
 * use it (a Deployment's spec.selector): validation, the selector text kube prints, Go's %#v
 * rendering used in kube's messages, and matching against labels.
 *
 * A NULL selector (absent or JSON null) is kube's nil selector, which matches nothing; an empty
 * one ({} or no requirements) matches everything. Pure functions over cJSON; thread-safe.
 */
#ifndef FOO_API_LABELSELECTOR_H
#define FOO_API_LABELSELECTOR_H

#include "common/apierr.h"
#include "common/sbuf.h"

#include <cjson/cJSON.h>
#include <stdbool.h>

/*
 * Validates sel as kube's ValidateLabelSelector does (field paths under `path`, e.g.
 * "spec.selector.matchExpressions[0].values"), plus the JSON types. Appends causes to err.
 * Returns true when sel is absent or well formed, i.e. when it can be rendered and matched.
 */
bool ls_validate(const cJSON *sel, const char *path, api_error *err);

/* True when sel is present and has no requirement (kube's "empty selector"). */
bool ls_is_empty(const cJSON *sel);

/*
 * The selector text kube's LabelSelectorAsSelector(sel).String() gives: requirements sorted by
 * key, matchLabels as "k=v", expressions as "k in (a,b)", "k notin (a,b)", "k", "!k" (values
 * sorted). "" for a NULL or empty selector. NULL when sel is not well formed (see ls_validate).
 * The caller frees the result.
 */
char *ls_format(const cJSON *sel);

/*
 * Appends sel as Go's %#v prints a *metav1.LabelSelector in kube's field errors:
 * `v1.LabelSelector{MatchLabels:map[string]string{"app":"web"},
 * MatchExpressions:[]v1.LabelSelectorRequirement(nil)}`, or `null` for a NULL selector.
 */
void ls_render_go(sbuf *sb, const cJSON *sel);

/*
 * True when labels (an object of strings; anything else counts as no labels) satisfy sel:
 * false for a NULL or malformed selector, true for an empty one. Linear in the sizes.
 */
bool ls_matches(const cJSON *sel, const cJSON *labels);

#endif
