/*
 * api_testutil.h - what the unit tests of api/ share: parsing and comparing test JSON, and
 * asserting on the validation causes an api_error holds (common/apierr.h). Criterion assertions: a
 * failure ends the calling test.
 */
#ifndef FOO_TEST_API_TESTUTIL_H
#define FOO_TEST_API_TESTUTIL_H

#include "common/apierr.h"

#include <cjson/cJSON.h>

/* Parses test JSON (the test fails on invalid JSON). Caller frees. */
cJSON *parse(const char *json);

/* Expects got to equal the JSON want_json (json_equal: member order ignored); on a mismatch
 * the test is marked failed and goes on, both sides printed. */
void expect_json(const cJSON *got, const char *want_json);

/* Asserts that err holds no cause. */
void assert_no_causes(const api_error *err);

/* Asserts that err holds exactly one cause, with this reason, field and message. */
void assert_cause(const api_error *err, const char *reason, const char *field, const char *msg);

/* Asserts that one of err's causes has this field and message. */
void assert_has_cause(const api_error *err, const char *field, const char *msg);

/* The string, or the number, at a dotted path of obj (the test fails when there is none). */
const char *str_at(const cJSON *obj, const char *dotted);
double num_at(const cJSON *obj, const char *dotted);

#endif
