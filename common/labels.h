/*
 * labels.h - Kubernetes label selectors (the labelSelector query parameter, docs/api.md §5.2,
 * and Scale's status.selector): parsing, matching against metadata.labels, canonical printing.
 *
 * Grammar (k8s.io/apimachinery/pkg/labels): requirements separated by ',' (AND), each one of
 *   key        key exists            !key          key does not exist
 *   key=v      key==v                key!=v        (v may be empty: "key=")
 *   key in (v1,v2)    key notin (v1,v2)            (empty members allowed: "(a,)", "()")
 *   key>N      key<N                 (N a decimal integer; kube's Gt/Lt)
 * with whitespace allowed around every token. Keys are qualified names: an optional DNS-1123
 * subdomain prefix (<= 253) and '/', then a name of 1..63 characters of
 * [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?. Values are empty or 1..63 characters of the same
 * charset.
 *
 * A parsed selector is immutable: labels_match may be called from several threads at once.
 */
#ifndef FOO_COMMON_LABELS_H
#define FOO_COMMON_LABELS_H

#include "common/apierr.h"

#include <cjson/cJSON.h>
#include <stdbool.h>

typedef struct labels_selector labels_selector;

/*
 * Parses selector text s. NULL or an empty/blank string yields a selector that matches
 * everything. Returns a selector the caller frees with labels_free, or NULL with *err set to a
 * 400 BadRequest whose message is Kubernetes' wording: "unable to parse requirement: <why>" for
 * a malformed requirement (bad key or value, bad operator, missing '('), or "found '<tok>',
 * expected: ..." for a misplaced token between requirements.
 */
labels_selector *labels_parse(const char *s, api_error *err);

/*
 * True when every requirement of sel holds for labels (an object of string values, normally
 * metadata.labels; NULL, non-objects and non-string members count as absent labels).
 * Semantics are kube's: =, ==, in require the key; != and notin also match objects without the
 * key; > and < require the key and an integer value. A NULL or empty selector matches all.
 * Where labels repeats a key, the last member counts when the selector has many requirements.
 * Cost: linear in the requirements plus the labels (many requirements look keys up through a
 * hash index of the labels; in/notin values are searched by bisection).
 */
bool labels_match(const labels_selector *sel, const cJSON *labels);

/* True when sel has no requirement (matches everything). NULL counts as empty. */
bool labels_is_empty(const labels_selector *sel);

/*
 * The canonical text of sel, as kube's Selector.String(): requirements sorted by key (stable),
 * in/notin values sorted and deduplicated, no spaces except around in/notin:
 * "a,!b,c!=x,d in (p,q)". "" for an empty selector. The caller frees the string.
 */
char *labels_format(const labels_selector *sel);

/* Frees sel (NULL is fine). */
void labels_free(labels_selector *sel);

#endif
