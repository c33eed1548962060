/*
 * yamljson.h - YAML (one document) to cJSON, for request bodies sent as YAML
 * (application/apply-patch+yaml). Thread-safe (no shared state).
 *
 * Scalars: quoted → string; plain → null (`null`, `~`, empty), bool (`true`/`false` in any of
 * YAML's spellings), number (integer or float syntax), else string. Mapping keys are scalars,
 * taken as their text; where a key repeats, the last value wins. JSON is valid YAML and converts
 * to the same tree. Only the first document of a stream is read.
 *
 * Anchors and aliases work as in kube's YAML reader: an alias stands for a copy of the node its
 * anchor marks (an anchor may be redefined; an alias refers to the latest definition seen, and
 * only to a node already complete, so a node cannot contain itself). Because each alias is a
 * copy, a short document could otherwise expand to billions of values ("billion laughs"); the
 * values produced, aliases expanded, are bounded by yaml_node_budget(len).
 */
#ifndef FOO_COMMON_YAMLJSON_H
#define FOO_COMMON_YAMLJSON_H

#include "common/apierr.h"

#include <cjson/cJSON.h>
#include <stddef.h>

/* Deepest nesting of sequences and mappings accepted (the document stops being read there). */
#define YAMLJSON_MAX_DEPTH 100

/* Values any document may produce, however short: room for ordinary use of aliases. */
#define YAMLJSON_MIN_NODES 100000

/* Values no document may produce, however long. */
#define YAMLJSON_MAX_NODES 2000000

/*
 * The number of values (scalars, sequences and mappings; mapping keys do not count) a document
 * of len bytes may produce: YAMLJSON_MIN_NODES plus one per two input bytes, at most
 * YAMLJSON_MAX_NODES. Written out, a value takes two bytes at least ("0," or "-\n"), so no
 * document reaches the bound without aliases, and with them a document builds no more than the
 * largest one written out in full could: memory stays proportional to the input.
 */
size_t yaml_node_budget(size_t len);

/*
 * Converts the first YAML document of text[0..len) and returns a new tree the caller frees with
 * cJSON_Delete, or NULL with *err (must not be NULL; the caller clears it) set to a 400
 * BadRequest whose message describes the first problem: the parser's ("invalid YAML at line N:
 * ..."), an empty document, a non-scalar mapping key, a string holding a NUL character (C strings
 * would cut it short), nesting deeper than YAMLJSON_MAX_DEPTH, an alias to an unknown or
 * unfinished anchor, or "document contains excessive aliasing: ..." when the budget above is
 * exceeded; or to a 500 InternalError when libyaml cannot start. err is untouched on success.
 * Work and memory are linear in len plus the budget; the parser is stopped at the first problem,
 * before it allocates more.
 */
cJSON *yaml_to_json(const char *text, size_t len, api_error *err);

#endif
