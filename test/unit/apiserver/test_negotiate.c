/*
 * test_negotiate.c - Accept negotiation (apiserver/negotiate.c, docs/api.md §2.2, §6, §7.2):
 * the exact headers of kubectl, python, client-node, the aggregator, the HPA and the garbage
 * collector, parameter order, skipped clauses, and as_media_type.
 */
#include "apiserver/transport/negotiate.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

/* The Accept headers of the real clients (docs/api.md §2.2, §6, §7.3, §8.2; docs/platform.md §9) */
#define KUBECTL_GET                                                                                \
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s." \
    "io,application/json"
#define KUBECTL_127_DISCOVERY                                                                      \
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
#define KUBECTL_133_DISCOVERY                                                                      \
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/"            \
    "json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
#define KUBECTL_NOPEER_DISCOVERY                                                                   \
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList;profile=nopeer,"         \
    "application/json"
#define KUBECTL_RESOURCES  "application/json, */*"
#define KUBECTL_OPENAPI_V2 "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
#define AGGREGATOR_DISCOVERY                                                                       \
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/"            \
    "json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
#define GC_WATCH                                                                                   \
    "application/vnd.kubernetes.protobuf;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/" \
    "json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json"
#define GC_LIST                                                                                    \
    "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,"         \
    "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
#define HPA_SCALE "application/vnd.kubernetes.protobuf, */*"

static void expect_media(const char *accept, as_response_shape shape, as_media media,
                         const char *meta_version)
{
    as_negotiated n = as_negotiate_for(accept, shape);
    const char *shown = accept ? accept : "(none)";
    cr_assert_eq(n.media, media, "Accept %s, shape %d: media %d, want %d", shown, (int)shape,
                 (int)n.media, (int)media);
    if (meta_version)
        cr_assert_str_eq(n.meta_version, meta_version, "Accept %s", shown);
    else
        cr_assert_null(n.meta_version, "Accept %s", shown);
}

Test(negotiate, kubectl_get_gets_a_v1_table_for_object_list_and_watch)
{
    expect_media(KUBECTL_GET, AS_SHAPE_OBJECT, AS_MEDIA_TABLE, "v1");
    expect_media(KUBECTL_GET, AS_SHAPE_LIST, AS_MEDIA_TABLE, "v1");
    expect_media(KUBECTL_GET, AS_SHAPE_WATCH, AS_MEDIA_TABLE, "v1");
}

Test(negotiate, kubectl_get_on_a_plain_endpoint_falls_back_to_json)
{
    expect_media(KUBECTL_GET, AS_SHAPE_PLAIN, AS_MEDIA_JSON, NULL);
}

Test(negotiate, kubectl_127_discovery_gets_v2beta1)
{
    expect_media(KUBECTL_127_DISCOVERY, AS_SHAPE_DISCOVERY, AS_MEDIA_DISCOVERY_V2BETA1, NULL);
}

Test(negotiate, kubectl_133_discovery_gets_v2)
{
    expect_media(KUBECTL_133_DISCOVERY, AS_SHAPE_DISCOVERY, AS_MEDIA_DISCOVERY_V2, NULL);
}

Test(negotiate, unknown_discovery_parameters_are_ignored)
{
    expect_media(KUBECTL_NOPEER_DISCOVERY, AS_SHAPE_DISCOVERY, AS_MEDIA_DISCOVERY_V2, NULL);
}

Test(negotiate, kubectl_discovery_accept_on_api_is_json)
{
    expect_media(KUBECTL_133_DISCOVERY, AS_SHAPE_PLAIN, AS_MEDIA_JSON, NULL);
    expect_media(KUBECTL_127_DISCOVERY, AS_SHAPE_PLAIN, AS_MEDIA_JSON, NULL);
}

Test(negotiate, kubectl_resource_list_accept_is_json)
{
    expect_media(KUBECTL_RESOURCES, AS_SHAPE_PLAIN, AS_MEDIA_JSON, NULL);
    expect_media(KUBECTL_RESOURCES, AS_SHAPE_DISCOVERY, AS_MEDIA_JSON, NULL);
}

Test(negotiate, kubectl_protobuf_openapi_accept_is_not_acceptable)
{
    expect_media(KUBECTL_OPENAPI_V2, AS_SHAPE_PLAIN, AS_MEDIA_NONE, NULL);
}

Test(negotiate, aggregator_discovery_gets_v2)
{
    expect_media(AGGREGATOR_DISCOVERY, AS_SHAPE_DISCOVERY, AS_MEDIA_DISCOVERY_V2, NULL);
}

Test(negotiate, aggregator_discovery_accept_without_json_elsewhere_is_not_acceptable)
{
    expect_media(AGGREGATOR_DISCOVERY, AS_SHAPE_PLAIN, AS_MEDIA_NONE, NULL);
    expect_media(AGGREGATOR_DISCOVERY, AS_SHAPE_LIST, AS_MEDIA_NONE, NULL);
}

Test(negotiate, aggregator_group_version_fetch_is_json)
{
    expect_media("application/json", AS_SHAPE_PLAIN, AS_MEDIA_JSON, NULL);
}

Test(negotiate, python_client_gets_json)
{
    expect_media("application/json", AS_SHAPE_OBJECT, AS_MEDIA_JSON, NULL);
    expect_media("application/json", AS_SHAPE_LIST, AS_MEDIA_JSON, NULL);
    expect_media("application/json", AS_SHAPE_WATCH, AS_MEDIA_JSON, NULL);
    expect_media("application/json", AS_SHAPE_DISCOVERY, AS_MEDIA_JSON, NULL);
}

Test(negotiate, client_node_gets_json)
{
    expect_media("application/json", AS_SHAPE_LIST, AS_MEDIA_JSON, NULL);
    expect_media("application/json, */*", AS_SHAPE_WATCH, AS_MEDIA_JSON, NULL);
}

Test(negotiate, garbage_collector_watch_gets_partial_object_metadata)
{
    expect_media(GC_WATCH, AS_SHAPE_WATCH, AS_MEDIA_PARTIAL, "v1");
    expect_media(GC_WATCH, AS_SHAPE_OBJECT, AS_MEDIA_PARTIAL, "v1");
}

Test(negotiate, garbage_collector_list_gets_partial_object_metadata_list)
{
    expect_media(GC_LIST, AS_SHAPE_LIST, AS_MEDIA_PARTIAL_LIST, "v1");
}

Test(negotiate, hpa_protobuf_then_any_is_json)
{
    expect_media(HPA_SCALE, AS_SHAPE_OBJECT, AS_MEDIA_JSON, NULL);
}

Test(negotiate, protobuf_only_is_not_acceptable)
{
    expect_media("application/vnd.kubernetes.protobuf", AS_SHAPE_OBJECT, AS_MEDIA_NONE, NULL);
    expect_media("application/vnd.kubernetes.protobuf", AS_SHAPE_PLAIN, AS_MEDIA_NONE, NULL);
    expect_media("application/vnd.kubernetes.protobuf;as=Table;g=meta.k8s.io;v=v1", AS_SHAPE_LIST,
                 AS_MEDIA_NONE, NULL);
}

Test(negotiate, yaml_and_cbor_are_skipped)
{
    expect_media("application/yaml", AS_SHAPE_OBJECT, AS_MEDIA_NONE, NULL);
    expect_media("application/cbor", AS_SHAPE_OBJECT, AS_MEDIA_NONE, NULL);
    expect_media("application/yaml, application/cbor, application/json", AS_SHAPE_OBJECT,
                 AS_MEDIA_JSON, NULL);
}

Test(negotiate, any_type_is_json)
{
    expect_media("*/*", AS_SHAPE_OBJECT, AS_MEDIA_JSON, NULL);
    expect_media("*/*", AS_SHAPE_DISCOVERY, AS_MEDIA_JSON, NULL);
    expect_media("application/*", AS_SHAPE_LIST, AS_MEDIA_JSON, NULL);
}

Test(negotiate, missing_or_empty_accept_is_json)
{
    expect_media(NULL, AS_SHAPE_OBJECT, AS_MEDIA_JSON, NULL);
    expect_media("", AS_SHAPE_DISCOVERY, AS_MEDIA_JSON, NULL);
}

Test(negotiate, media_type_is_case_insensitive)
{
    expect_media("Application/JSON", AS_SHAPE_OBJECT, AS_MEDIA_JSON, NULL);
}

Test(negotiate, unrelated_parameters_keep_plain_json)
{
    expect_media("application/json;q=0.9", AS_SHAPE_OBJECT, AS_MEDIA_JSON, NULL);
    expect_media("application/json; charset=utf-8", AS_SHAPE_LIST, AS_MEDIA_JSON, NULL);
}

Test(negotiate, parameter_order_is_irrelevant)
{
    static const char *tables[] = {
        "application/json;as=Table;v=v1;g=meta.k8s.io",
        "application/json;g=meta.k8s.io;v=v1;as=Table",
        "application/json;v=v1;as=Table;g=meta.k8s.io",
        "application/json; g=meta.k8s.io; as=Table; v=v1",
    };
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
        expect_media(tables[i], AS_SHAPE_LIST, AS_MEDIA_TABLE, "v1");
    expect_media("application/json;as=APIGroupDiscoveryList;v=v2;g=apidiscovery.k8s.io",
                 AS_SHAPE_DISCOVERY, AS_MEDIA_DISCOVERY_V2, NULL);
    expect_media("application/json;v=v1;as=PartialObjectMetadataList;g=meta.k8s.io", AS_SHAPE_LIST,
                 AS_MEDIA_PARTIAL_LIST, "v1");
}

Test(negotiate, spaces_around_clauses_are_ignored)
{
    expect_media("  application/vnd.kubernetes.protobuf ,  application/json;as=Table;v=v1;g=meta."
                 "k8s.io  ",
                 AS_SHAPE_OBJECT, AS_MEDIA_TABLE, "v1");
}

Test(negotiate, table_v1beta1_is_served_as_v1beta1)
{
    expect_media("application/json;as=Table;v=v1beta1;g=meta.k8s.io", AS_SHAPE_LIST, AS_MEDIA_TABLE,
                 "v1beta1");
}

Test(negotiate, first_acceptable_clause_wins)
{
    expect_media("application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json;as=Table;v="
                 "v1;g=meta.k8s.io",
                 AS_SHAPE_LIST, AS_MEDIA_TABLE, "v1beta1");
    expect_media("application/json,application/json;as=Table;v=v1;g=meta.k8s.io", AS_SHAPE_LIST,
                 AS_MEDIA_JSON, NULL);
}

Test(negotiate, table_of_unknown_version_or_group_is_skipped)
{
    expect_media("application/json;as=Table;v=v2;g=meta.k8s.io", AS_SHAPE_LIST, AS_MEDIA_NONE,
                 NULL);
    expect_media("application/json;as=Table;v=v1;g=other.k8s.io", AS_SHAPE_LIST, AS_MEDIA_NONE,
                 NULL);
    expect_media("application/json;as=Table;v=v1", AS_SHAPE_LIST, AS_MEDIA_NONE, NULL);
    expect_media("application/json;as=Table;v=v2;g=meta.k8s.io,application/json", AS_SHAPE_LIST,
                 AS_MEDIA_JSON, NULL);
}

Test(negotiate, table_on_a_plain_or_discovery_response_is_skipped)
{
    expect_media("application/json;as=Table;v=v1;g=meta.k8s.io", AS_SHAPE_PLAIN, AS_MEDIA_NONE,
                 NULL);
    expect_media("application/json;as=Table;v=v1;g=meta.k8s.io", AS_SHAPE_DISCOVERY, AS_MEDIA_NONE,
                 NULL);
}

Test(negotiate, unknown_as_is_skipped)
{
    expect_media("application/json;as=Foo;v=v1;g=meta.k8s.io", AS_SHAPE_OBJECT, AS_MEDIA_NONE,
                 NULL);
    expect_media("application/json;as=Foo;v=v1;g=meta.k8s.io,application/json", AS_SHAPE_OBJECT,
                 AS_MEDIA_JSON, NULL);
}

Test(negotiate, partial_object_metadata_on_a_list_is_skipped)
{
    expect_media("application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1", AS_SHAPE_LIST,
                 AS_MEDIA_NONE, NULL);
    expect_media(GC_WATCH, AS_SHAPE_LIST, AS_MEDIA_JSON, NULL);
}

Test(negotiate, partial_object_metadata_list_on_an_object_is_skipped)
{
    expect_media("application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
                 AS_SHAPE_OBJECT, AS_MEDIA_NONE, NULL);
    expect_media("application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1", AS_SHAPE_WATCH,
                 AS_MEDIA_NONE, NULL);
    expect_media(GC_LIST, AS_SHAPE_OBJECT, AS_MEDIA_JSON, NULL);
}

Test(negotiate, partial_object_metadata_v1beta1)
{
    expect_media("application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1beta1",
                 AS_SHAPE_OBJECT, AS_MEDIA_PARTIAL, "v1beta1");
}

Test(negotiate, partial_object_metadata_on_a_plain_response_is_skipped)
{
    expect_media("application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1", AS_SHAPE_PLAIN,
                 AS_MEDIA_NONE, NULL);
}

Test(negotiate, discovery_types_only_for_the_discovery_shape)
{
    expect_media("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
                 AS_SHAPE_OBJECT, AS_MEDIA_NONE, NULL);
    expect_media("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
                 AS_SHAPE_PLAIN, AS_MEDIA_NONE, NULL);
}

Test(negotiate, discovery_of_unknown_version_is_skipped)
{
    expect_media("application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList",
                 AS_SHAPE_DISCOVERY, AS_MEDIA_NONE, NULL);
    expect_media("application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList,"
                 "application/json",
                 AS_SHAPE_DISCOVERY, AS_MEDIA_JSON, NULL);
}

Test(negotiate, as_negotiate_allows_discovery_types_only_when_asked)
{
    cr_assert_eq(as_negotiate(KUBECTL_133_DISCOVERY, true), AS_MEDIA_DISCOVERY_V2);
    cr_assert_eq(as_negotiate(KUBECTL_133_DISCOVERY, false), AS_MEDIA_JSON);
    cr_assert_eq(as_negotiate(AGGREGATOR_DISCOVERY, false), AS_MEDIA_NONE);
    cr_assert_eq(as_negotiate(NULL, false), AS_MEDIA_JSON);
    cr_assert_eq(as_negotiate(KUBECTL_GET, false), AS_MEDIA_JSON);
}

Test(negotiate, media_type_is_compared_without_parameters_or_case)
{
    cr_assert(as_media_type_is("Application/Merge-Patch+JSON; charset=utf-8",
                               "application/merge-patch+json"));
    cr_assert(as_media_type_is("application/json-patch+json", "application/json-patch+json"));
    cr_assert(as_media_type_is("  application/apply-patch+yaml ;charset=utf-8",
                               "application/apply-patch+yaml"));
    cr_assert_not(as_media_type_is("application/json-patch+json", "application/json"));
}

Test(negotiate, media_type_of_missing_header_is_nothing)
{
    cr_assert_not(as_media_type_is(NULL, "application/json"));
    cr_assert_not(as_media_type_is("", "application/json"));
}

/* A long type is compared whole: no prefix of it may pass for a shorter one. */
Test(negotiate, long_media_type_is_not_cut_to_a_known_one)
{
    char ct[600];
    memset(ct, ' ', sizeof ct);
    memcpy(ct, "application/merge-patch+json", 28);
    memcpy(ct + 300, "x", 1);
    ct[sizeof ct - 1] = '\0';
    cr_assert_not(as_media_type_is(ct, "application/merge-patch+json"));
}

/* Parameters after a long one are still read (they were cut off at 512 bytes). */
Test(negotiate, parameters_after_a_long_clause_are_read)
{
    char accept[2048];
    char pad[1000];
    memset(pad, 'p', sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    snprintf(accept, sizeof accept, "application/json;x=%s;as=Table;v=v1;g=meta.k8s.io", pad);
    cr_assert_eq(as_negotiate_for(accept, AS_SHAPE_LIST).media, AS_MEDIA_TABLE);
}
