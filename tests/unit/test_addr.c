/* tests/unit/test_addr.c: unit tests of core/member/addr.c (the tcp://HOST:PORT form).
 * Accepted and refused addresses to dial and to listen on, the reason given, bytes past len
 * never read, and listen endpoints resolved (localhost, an interface by name).
 * Layer: tests. Third-party: cmocka. SPDX-License-Identifier: MIT */
#include "core/member/addr.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void
s_ok(const char *text, bool listen, const char *host, unsigned port)
{
    addr_t a;
    char why[256];
    if (addr_parse(text, strlen(text), listen, &a, why, sizeof why) != MESH_OK) {
        fail_msg("refused %s: %s", text, why);
    }
    assert_string_equal(a.host, host);
    assert_int_equal(a.port, port);
}

static void
s_bad(const char *text, bool listen, const char *reason)
{
    addr_t a;
    char why[256];
    if (addr_parse(text, strlen(text), listen, &a, why, sizeof why) != MESH_EINVAL) {
        fail_msg("accepted %s", text);
    }
    if (!strstr(why, reason)) {
        fail_msg("%s: '%s' does not say '%s'", text, why, reason);
    }
    assert_string_equal(a.host, ""); /* nothing half-filled */
}

static void
test_addr_accepts_the_one_form(void **state)
{
    (void)state;
    s_ok("tcp://127.0.0.1:7000", false, "127.0.0.1", 7000);
    s_ok("tcp://[::1]:1", false, "::1", 1);
    s_ok("tcp://[fe80::1:2]:65535", false, "fe80::1:2", 65535);
    s_ok("tcp://localhost:7113", false, "localhost", 7113);
    s_ok("tcp://a-b.example.org.:80", false, "a-b.example.org.", 80);
    s_ok("tcp://*:0", true, "*", 0);
    s_ok("tcp://127.0.0.1:0", true, "127.0.0.1", 0);
    assert_true(addr_is_valid("tcp://10.0.0.1:9", 16));
}

static void
test_addr_refuses_the_rest(void **state)
{
    (void)state;
    s_bad("notanaddress", false, "expected tcp://HOST:PORT");
    s_bad("ipc:///tmp/sock", false, "expected tcp://HOST:PORT");
    s_bad("TCP://127.0.0.1:1", false, "expected tcp://HOST:PORT");
    s_bad("tcp://127.0.0.1:99999", true, "port 99999, outside 0..65535");
    s_bad("tcp://127.0.0.1:0", false, "port 0, outside 1..65535");
    s_bad("tcp://127.0.0.1", false, "has no port");
    s_bad("tcp://127.0.0.1:", false, "not a number");
    s_bad("tcp://127.0.0.1:7x", false, "not a number");
    s_bad("tcp://127.0.0.1:-1", false, "not a number");
    s_bad("tcp://:7000", false, "has no host");
    s_bad("tcp://*:7000", false, "neither an IP address nor a host name");
    s_bad("tcp://999.1.1.1:7000", false, "malformed IPv4");
    s_bad("tcp://1.2.3:7000", false, "malformed IPv4");
    s_bad("tcp://[::1:7000", false, "malformed [IPv6]");
    s_bad("tcp://[nothex]:7000", false, "malformed [IPv6]");
    s_bad("tcp://::1:7000", false, "neither an IP address");
    s_bad("tcp://a_b:7000", false, "neither an IP address");
    s_bad("tcp://-a:7000", false, "neither an IP address");
    s_bad("tcp://a..b:7000", false, "neither an IP address");
    s_bad("tcp://host/path:7000", false, "neither an IP address");
    s_bad("tcp://evil\x1b[31m:7000", false, "\\x1b[31m");
    s_bad("", false, "expected tcp://HOST:PORT");
}

static void
test_addr_reads_only_len_bytes(void **state)
{
    (void)state;
    /* "tcp://h:1" followed by bytes that would make it something else */
    const char text[] = "tcp://h:12345";
    assert_int_equal(addr_parse(text, 9, false, NULL, NULL, 0), MESH_OK);
    char *exact = malloc(9);
    assert_non_null(exact);
    memcpy(exact, "tcp://h:1", 9); /* no NUL: ASan flags a read past it */
    assert_true(addr_is_valid(exact, 9));
    free(exact);
    char label[80];
    memset(label, 'a', sizeof label);
    char text2[100];
    snprintf(text2, sizeof text2, "tcp://%.64s:1", label);
    assert_false(addr_is_valid(text2, strlen(text2))); /* a 64-byte label */
    snprintf(text2, sizeof text2, "tcp://%.63s:1", label);
    assert_true(addr_is_valid(text2, strlen(text2)));
}

static void
test_addr_quote_escapes_and_cuts(void **state)
{
    (void)state;
    char out[512];
    addr_quote("a\nb\\", 4, out, sizeof out);
    assert_string_equal(out, "a\\x0ab\\x5c");
    char longer[200];
    memset(longer, 'x', sizeof longer);
    addr_quote(longer, sizeof longer, out, sizeof out);
    assert_int_equal(strlen(out), 64 + 3);
    addr_quote("abc", 3, out, 3);
    assert_string_equal(out, "ab");
}

static void
test_addr_listen_resolve(void **state)
{
    (void)state;
    char out[ADDR_TEXT_MAX], why[256];
    unsigned port = 0;
    assert_int_equal(addr_listen_resolve("tcp://localhost:7113", out, sizeof out, &port, why,
                                         sizeof why),
                     MESH_OK);
    assert_string_equal(out, "tcp://127.0.0.1:7113");
    assert_int_equal(port, 7113);
    assert_int_equal(addr_listen_resolve("tcp://*:0", out, sizeof out, &port, why, sizeof why),
                     MESH_OK);
    assert_string_equal(out, "tcp://*:0");
    assert_int_equal(
        addr_listen_resolve("tcp://lo:7000", out, sizeof out, &port, why, sizeof why), MESH_OK);
    assert_string_equal(out, "tcp://lo:7000"); /* the loopback interface, by name */
    assert_int_equal(
        addr_listen_resolve("tcp://[::1]:7000", out, sizeof out, &port, why, sizeof why),
        MESH_EINVAL);
    assert_non_null(strstr(why, "IPv6 is not supported"));
    /* (a name that does not resolve is not tried: it would ask a DNS server, off this host) */
    assert_int_equal(
        addr_listen_resolve("tcp://127.0.0.1:99999", out, sizeof out, &port, why, sizeof why),
        MESH_EINVAL);
    assert_string_equal(out, "");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addr_accepts_the_one_form),
        cmocka_unit_test(test_addr_refuses_the_rest),
        cmocka_unit_test(test_addr_reads_only_len_bytes),
        cmocka_unit_test(test_addr_quote_escapes_and_cuts),
        cmocka_unit_test(test_addr_listen_resolve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
