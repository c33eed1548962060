/*
 * json_expect.h - the JSON checks the tests of common/ share: test JSON parsed with an assertion
 * (a typo in a test fails loudly instead of comparing against NULL) and a semantic comparison
 * (json_equal: member order is ignored) that prints both sides when it fails.
 */
#ifndef FOO_TEST_COMMON_JSON_EXPECT_H
#define FOO_TEST_COMMON_JSON_EXPECT_H

#include <cjson/cJSON.h>

/* json parsed; asserts (ends the test) when it is not JSON. Caller frees. */
cJSON *tj_parse(const char *json);
/* Expects got to equal the JSON want_json (cr_expect: the test goes on); what names the check
 * in the failure message. */
void tj_expect(const cJSON *got, const char *want_json, const char *what);

#endif
