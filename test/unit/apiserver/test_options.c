/*
 * test_options.c - as_defaults and as_options_check (apiserver/server.c): the storage flags of
 * issue 10 (--storage sqlite|etcd, --etcd-servers, --etcd-prefix, --etcd-compaction-interval).
 */
#include "apiserver/apiserver.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

Test(options, defaults_are_sqlite_with_kubes_etcd_prefix_and_a_5_minute_compaction)
{
    as_options o = as_defaults();
    cr_expect_str_eq(o.storage, "sqlite");
    cr_expect_str_eq(o.etcd_prefix, "/registry/demo.example.com");
    cr_expect_eq(o.etcd_compaction_interval_s, 300);
    cr_expect_null(o.etcd_servers);
    char why[160] = "";
    cr_expect_eq(as_options_check(&o, why, sizeof why), 0, "%s", why);
}

Test(options, etcd_needs_servers)
{
    as_options o = as_defaults();
    o.storage = "etcd";
    char why[160] = "";
    cr_expect_eq(as_options_check(&o, why, sizeof why), -EINVAL);
    cr_expect(strstr(why, "--etcd-servers") != NULL, "%s", why);
    o.etcd_servers = "http://127.0.0.1:2379,http://127.0.0.1:2380";
    cr_expect_eq(as_options_check(&o, why, sizeof why), 0, "%s", why);
}

Test(options, an_unknown_backend_a_relative_prefix_and_a_negative_interval_are_refused)
{
    char why[160];
    as_options o = as_defaults();
    o.storage = "mysql";
    cr_expect_eq(as_options_check(&o, why, sizeof why), -EINVAL);
    cr_expect(strstr(why, "mysql") != NULL, "%s", why);

    o = as_defaults();
    o.storage = "etcd";
    o.etcd_servers = "http://127.0.0.1:2379";
    o.etcd_prefix = "registry";
    cr_expect_eq(as_options_check(&o, why, sizeof why), -EINVAL);
    cr_expect(strstr(why, "--etcd-prefix") != NULL, "%s", why);

    o.etcd_prefix = "/registry";
    o.etcd_compaction_interval_s = -1;
    cr_expect_eq(as_options_check(&o, why, sizeof why), -EINVAL);
    cr_expect(strstr(why, "--etcd-compaction-interval") != NULL, "%s", why);
}
