/*
 * protobuf.c - the protobuf wire format read into cJSON under a static descriptor
 * (common/protobuf.h; docs/api.md §5.8).
 *
 * One pass over the bytes. Each occurrence of a message is decoded by decode_message into one
 * object, with a bit per field of the descriptor saying which fields this occurrence already
 * gave: a singular field seen again is a duplicate (last value wins), a repeated one appends.
 * Members of an object are bounded by its descriptor, so looking one up is O(fields); the only
 * unbounded objects are maps, whose repeated keys are resolved once, when the occurrence that
 * filled them ends, through a key index (common/jsonkeys.h). Hence linear work overall.
 */
#include "common/protobuf.h"

#include "common/alloc.h"
#include "common/utf8.h"
#include "common/jsonkeys.h"
#include "common/sbuf.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* JSON numbers are doubles here: integers beyond this are refused rather than rounded. */
#define PB_MAX_EXACT_INT 9007199254740992LL /* 2^53 */

/* ---- the wire format ---------------------------------------------------------------------- */

int pb_read_varint(pb_reader *r, uint64_t *v)
{
    uint64_t x = 0;
    for (int i = 0; i < 10; i++) {
        if (r->p >= r->end)
            return -EPROTO;
        uint8_t b = *r->p++;
        /* The 10th byte holds bit 63 only: anything more does not fit 64 bits. */
        if (i == 9 && b > 1)
            return -EOVERFLOW;
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -EOVERFLOW;
}

int pb_read_tag(pb_reader *r, uint32_t *field, pb_wire *wire)
{
    uint64_t v;
    int rc = pb_read_varint(r, &v);
    if (rc)
        return rc;
    uint64_t number = v >> 3;
    unsigned type = (unsigned)(v & 7);
    if (number == 0 || number > 0x1fffffff || type > PB_WIRE_I32)
        return -EINVAL;
    *field = (uint32_t)number;
    *wire = (pb_wire)type;
    return 0;
}

int pb_read_len(pb_reader *r, const uint8_t **data, size_t *len)
{
    uint64_t n;
    int rc = pb_read_varint(r, &n);
    if (rc)
        return rc;
    if (n > (uint64_t)(r->end - r->p))
        return -EPROTO;
    *data = r->p;
    *len = (size_t)n;
    r->p += n;
    return 0;
}

const char *pb_strerror(int rc)
{
    switch (rc) {
    case -EPROTO:
        return "unexpected end of data";
    case -EOVERFLOW:
        return "varint longer than 64 bits";
    case -EINVAL:
        return "invalid tag";
    }
    return "malformed data";
}

/* ---- decoding state ------------------------------------------------------------------------ */

/* Where an object sits in the tree, to name duplicate fields ("spec.containers[1].image"). */
typedef struct pb_frame {
    const struct pb_frame *parent;
    const char *name; /* the member this object is; NULL at the top */
    long index;       /* its index in that member's array, or -1 */
} pb_frame;

typedef struct pb_session {
    const uint8_t *base; /* start of the input, for byte offsets in errors */
    cJSON *dups;         /* NULL, or where duplicate paths go */
    int ndups;
    api_error *err;
} pb_session;

/* One occurrence of a field being decoded. */
typedef struct pb_site {
    pb_session *s;
    const pb_message *m; /* the message holding the field */
    const pb_field *f;
    const uint8_t *at;     /* where its tag starts */
    cJSON *obj;            /* the object receiving it */
    const pb_frame *frame; /* obj's place in the tree */
    int depth;             /* obj's nesting */
    bool first;            /* first time f appears in this occurrence of m */
} pb_site;

static int decode_message(pb_session *s, const pb_message *m, const uint8_t *data, size_t len,
                          cJSON *obj, const pb_frame *frame, int depth);

/* ---- errors and duplicates ----------------------------------------------------------------- */

/* 400 "protobuf field N (name) of M at byte K: <detail>" (no field: "protobuf message M ..."). */
static int fail(pb_session *s, const pb_message *m, const pb_field *f, const uint8_t *at,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int fail(pb_session *s, const pb_message *m, const pb_field *f, const uint8_t *at,
                const char *fmt, ...)
{
    sbuf msg = SBUF_INIT;
    if (f && f->name)
        sbuf_printf(&msg, "protobuf field %" PRIu32 " (%s) of %s", f->number, f->name, m->name);
    else if (f)
        sbuf_printf(&msg, "protobuf field %" PRIu32 " of %s", f->number, m->name);
    else
        sbuf_printf(&msg, "protobuf message %s", m->name);
    sbuf_printf(&msg, " at byte %zu: ", (size_t)(at - s->base));
    va_list ap;
    va_start(ap, fmt);
    sbuf_vprintf(&msg, fmt, ap);
    va_end(ap);
    apierr_set(s->err, 400, "BadRequest", "%s", msg.data);
    sbuf_free(&msg);
    return -EPROTO;
}

/* 415: a field this server has no descriptor for; kube would read it, so it must not vanish. */
static int unsupported(pb_session *s, const pb_message *m, uint32_t number)
{
    apierr_set(s->err, 415, "UnsupportedMediaType",
               "protobuf field %" PRIu32 " of %s is not supported: send JSON", number, m->name);
    return -EPROTO;
}

static void frame_path(sbuf *sb, const pb_frame *f)
{
    if (!f || !f->name)
        return;
    frame_path(sb, f->parent);
    if (sb->len)
        sbuf_putc(sb, '.');
    sbuf_puts(sb, f->name);
    if (f->index >= 0)
        sbuf_printf(sb, "[%ld]", f->index);
}

/* Counts a duplicate field (map key: key non-NULL) and names the first ones. */
static void record_dup(pb_session *s, const pb_frame *frame, const char *name, const char *key)
{
    if (s->ndups < INT_MAX)
        s->ndups++;
    if (!s->dups || s->ndups > PB_MAX_REPORTED_DUPLICATES)
        return;
    sbuf path = SBUF_INIT;
    frame_path(&path, frame);
    sbuf_printf(&path, "%s%s", path.len ? "." : "", name);
    if (key)
        sbuf_printf(&path, ".%s", key);
    cJSON_AddItemToArray(s->dups, cJSON_CreateString(path.data));
    sbuf_free(&path);
}

/* ---- members ------------------------------------------------------------------------------- */

/* Before a singular field's value is set: an earlier value goes, and counts as a duplicate. */
static void clear_singular(pb_site *x)
{
    cJSON *old = cJSON_GetObjectItemCaseSensitive(x->obj, x->f->name);
    if (!x->first || old)
        record_dup(x->s, x->frame, x->f->name, NULL);
    if (old)
        cJSON_Delete(cJSON_DetachItemViaPointer(x->obj, old));
}

/*
 * The array or map object a repeated or map field appends to. One left by an earlier occurrence
 * of the enclosing message (an inline message given twice) is replaced, as a duplicate.
 */
static cJSON *container_of(pb_site *x, bool array)
{
    cJSON *c = cJSON_GetObjectItemCaseSensitive(x->obj, x->f->name);
    bool usable = c && (array ? cJSON_IsArray(c) : cJSON_IsObject(c));
    if (c && (x->first || !usable)) {
        record_dup(x->s, x->frame, x->f->name, NULL);
        cJSON_Delete(cJSON_DetachItemViaPointer(x->obj, c));
        c = NULL;
    }
    if (!c) {
        c = array ? cJSON_CreateArray() : cJSON_CreateObject();
        cJSON_AddItemToObject(x->obj, x->f->name, c);
    }
    return c;
}

/* ---- scalars ------------------------------------------------------------------------------- */

static int expect_wire(pb_site *x, pb_wire wire, pb_wire want)
{
    if (wire == want)
        return 0;
    return fail(x->s, x->m, x->f, x->at, "wire type %d, expected %d", (int)wire, (int)want);
}

static int take_len(pb_site *x, pb_reader *r, pb_wire wire, const uint8_t **data, size_t *len)
{
    int rc = expect_wire(x, wire, PB_WIRE_LEN);
    if (rc)
        return rc;
    rc = pb_read_len(r, data, len);
    return rc ? fail(x->s, x->m, x->f, x->at, "%s", pb_strerror(rc)) : 0;
}

/* A JSON string of the bytes, which must be text: C strings end at a NUL, JSON needs UTF-8. */
static int make_string(pb_site *x, const uint8_t *data, size_t len, cJSON **out)
{
    if (memchr(data, 0, len))
        return fail(x->s, x->m, x->f, x->at, "a string holds a NUL byte");
    if (!utf8_valid(data, len))
        return fail(x->s, x->m, x->f, x->at, "a string is not valid UTF-8");
    char *copy = xstrndup((const char *)data, len);
    *out = cJSON_CreateString(copy);
    free(copy);
    return 0;
}

/* Go's JSON form of []byte: standard base64 with padding. */
static cJSON *make_base64(const uint8_t *data, size_t len)
{
    char *b64 = xmalloc(4 * ((len + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)b64, data, (int)len);
    cJSON *out = cJSON_CreateString(b64);
    free(b64);
    return out;
}

/* A varint as the field's kind; *zero tells whether it is the kind's zero value. */
static int make_number(pb_site *x, uint64_t v, cJSON **out, bool *zero)
{
    int64_t n = (int64_t)v;
    *zero = v == 0;
    switch (x->f->kind) {
    case PB_BOOL:
        *out = cJSON_CreateBool(v != 0);
        return 0;
    case PB_INT32:
        if (n < INT32_MIN || n > INT32_MAX)
            return fail(x->s, x->m, x->f, x->at, "%" PRId64 " is out of the int32 range", n);
        break;
    default:
        if (n < -PB_MAX_EXACT_INT || n > PB_MAX_EXACT_INT)
            return fail(x->s, x->m, x->f, x->at,
                        "%" PRId64 " is beyond 2^53, which a JSON number here cannot hold", n);
        break;
    }
    *out = cJSON_CreateNumber((double)n);
    return 0;
}

/* One scalar value of x->f from r; *zero tells whether Go would see the zero value. */
static int read_scalar(pb_site *x, pb_reader *r, pb_wire wire, cJSON **out, bool *zero)
{
    const uint8_t *data;
    size_t len;
    int rc;
    if (x->f->kind == PB_STRING || x->f->kind == PB_BYTES) {
        if ((rc = take_len(x, r, wire, &data, &len)))
            return rc;
        *zero = len == 0;
        if (x->f->kind == PB_BYTES) {
            *out = make_base64(data, len);
            return 0;
        }
        return make_string(x, data, len, out);
    }
    uint64_t v;
    if ((rc = expect_wire(x, wire, PB_WIRE_VARINT)))
        return rc;
    if ((rc = pb_read_varint(r, &v)))
        return fail(x->s, x->m, x->f, x->at, "%s", pb_strerror(rc));
    return make_number(x, v, out, zero);
}

/* A packed run of numbers or bools: one length, then varints back to back. */
static int decode_packed(pb_site *x, pb_reader *r, pb_wire wire)
{
    const uint8_t *data;
    size_t len;
    int rc = take_len(x, r, wire, &data, &len);
    if (rc)
        return rc;
    pb_reader run = pb_reader_of(data, len);
    while (run.p < run.end) {
        uint64_t v;
        cJSON *item;
        bool zero;
        if ((rc = pb_read_varint(&run, &v)))
            return fail(x->s, x->m, x->f, x->at, "%s", pb_strerror(rc));
        if ((rc = make_number(x, v, &item, &zero)))
            return rc;
        cJSON_AddItemToArray(container_of(x, true), item);
        x->first = false; /* the next values of the run append */
    }
    return 0;
}

static int decode_scalar(pb_site *x, pb_reader *r, pb_wire wire)
{
    const pb_field *f = x->f;
    bool number = f->kind == PB_BOOL || f->kind == PB_INT32 || f->kind == PB_INT64;
    if ((f->flags & PB_REPEATED) && number && wire == PB_WIRE_LEN)
        return decode_packed(x, r, wire);
    cJSON *v = NULL;
    bool zero = false;
    int rc = read_scalar(x, r, wire, &v, &zero);
    if (rc)
        return rc;
    if (f->flags & PB_REPEATED) {
        cJSON_AddItemToArray(container_of(x, true), v);
        return 0;
    }
    clear_singular(x);
    if (zero && !(f->flags & PB_KEEP_ZERO))
        cJSON_Delete(v); /* Go's omitempty */
    else
        cJSON_AddItemToObject(x->obj, f->name, v);
    return 0;
}

/* ---- messages and maps --------------------------------------------------------------------- */

/* Applies the message's to_json, if any, to its decoded object. */
static int to_json(pb_site *x, const pb_message *m, cJSON **item)
{
    const char *why = "invalid value";
    if (!m->to_json || m->to_json(item, &why) == 0)
        return 0;
    return fail(x->s, x->m, x->f, x->at, "%s", why);
}

static int decode_submessage(pb_site *x, pb_reader *r, pb_wire wire, uint32_t *count)
{
    const pb_field *f = x->f;
    const uint8_t *data;
    size_t len;
    int rc = take_len(x, r, wire, &data, &len);
    if (rc)
        return rc;
    bool repeated = f->flags & PB_REPEATED;
    pb_frame here = {x->frame, f->name, repeated ? (long)*count : -1};
    cJSON *item = cJSON_CreateObject();
    rc = decode_message(x->s, f->message, data, len, item, &here, x->depth + 1);
    if (rc == 0)
        rc = to_json(x, f->message, &item);
    if (rc) {
        cJSON_Delete(item);
        return rc;
    }
    if (repeated) {
        cJSON_AddItemToArray(container_of(x, true), item);
        (*count)++;
    } else {
        clear_singular(x);
        cJSON_AddItemToObject(x->obj, f->name, item);
    }
    return 0;
}

/* An embedded struct: its members land in the enclosing object. */
static int decode_inline(pb_site *x, pb_reader *r, pb_wire wire)
{
    const uint8_t *data;
    size_t len;
    int rc = take_len(x, r, wire, &data, &len);
    if (rc)
        return rc;
    return decode_message(x->s, x->f->message, data, len, x->obj, x->frame, x->depth + 1);
}

/* The value of a map entry (field 2): a string, or a message of x->f->message. */
static int map_value(pb_site *x, pb_reader *e, pb_wire wire, cJSON **value)
{
    const uint8_t *data;
    size_t len;
    int rc = take_len(x, e, wire, &data, &len);
    if (rc)
        return rc;
    cJSON *v = NULL;
    if (!x->f->message) {
        rc = make_string(x, data, len, &v);
    } else {
        pb_frame here = {x->frame, x->f->name, -1};
        v = cJSON_CreateObject();
        rc = decode_message(x->s, x->f->message, data, len, v, &here, x->depth + 1);
        if (rc == 0)
            rc = to_json(x, x->f->message, &v);
    }
    if (rc) {
        cJSON_Delete(v);
        return rc;
    }
    cJSON_Delete(*value);
    *value = v;
    return 0;
}

/* The key of a map entry (field 1): a string, which becomes a member name. */
static int map_key(pb_site *x, pb_reader *e, pb_wire wire, char **key)
{
    const uint8_t *data;
    size_t len;
    cJSON *k = NULL;
    int rc = take_len(x, e, wire, &data, &len);
    if (rc || (rc = make_string(x, data, len, &k)))
        return rc;
    free(*key);
    *key = xstrdup(k->valuestring);
    cJSON_Delete(k);
    return 0;
}

/* A value for an entry that gave none: "" or the message's empty form. */
static int empty_map_value(pb_site *x, cJSON **value)
{
    if (!x->f->message) {
        *value = cJSON_CreateString("");
        return 0;
    }
    *value = cJSON_CreateObject();
    int rc = to_json(x, x->f->message, value);
    if (rc) {
        cJSON_Delete(*value);
        *value = NULL;
    }
    return rc;
}

/* One map entry, appended to the map; repeated keys are resolved when the message ends. */
static int decode_map_entry(pb_site *x, pb_reader *r, pb_wire wire)
{
    const uint8_t *data;
    size_t len;
    int rc = take_len(x, r, wire, &data, &len);
    if (rc)
        return rc;
    pb_reader e = pb_reader_of(data, len);
    char *key = NULL;
    cJSON *value = NULL;
    while (rc == 0 && e.p < e.end) {
        uint32_t number;
        pb_wire w;
        if ((rc = pb_read_tag(&e, &number, &w)))
            rc = fail(x->s, x->m, x->f, x->at, "map entry: %s", pb_strerror(rc));
        else if (number == 1)
            rc = map_key(x, &e, w, &key);
        else if (number == 2)
            rc = map_value(x, &e, w, &value);
        else
            rc = fail(x->s, x->m, x->f, x->at, "map entry has a field %" PRIu32, number);
    }
    if (rc == 0 && !value)
        rc = empty_map_value(x, &value);
    if (rc == 0)
        cJSON_AddItemToObject(container_of(x, false), key ? key : "", value);
    else
        cJSON_Delete(value);
    free(key);
    return rc;
}

/* The last value of each repeated key wins, as in Go's map decoding; the others are dropped. */
static void resolve_map_keys(pb_session *s, const pb_field *f, cJSON *map, const pb_frame *frame)
{
    jk_index *ix = jk_index_new();
    for (cJSON *c = map->child, *next; c; c = next) {
        next = c->next;
        cJSON *earlier = jk_index_put(ix, c);
        if (earlier) {
            record_dup(s, frame, f->name, c->string);
            cJSON_Delete(cJSON_DetachItemViaPointer(map, earlier));
        }
    }
    jk_index_free(ix);
}

static int decode_field(pb_site *x, pb_reader *r, pb_wire wire, uint32_t *count)
{
    switch (x->f->kind) {
    case PB_INLINE:
        return decode_inline(x, r, wire);
    case PB_MESSAGE:
        return decode_submessage(x, r, wire, count);
    case PB_MAP:
        return decode_map_entry(x, r, wire);
    default:
        return decode_scalar(x, r, wire);
    }
}

static const pb_field *find_field(const pb_message *m, uint32_t number)
{
    for (size_t i = 0; i < m->nfields; i++)
        if (m->fields[i].number == number)
            return &m->fields[i];
    return NULL;
}

static int decode_message(pb_session *s, const pb_message *m, const uint8_t *data, size_t len,
                          cJSON *obj, const pb_frame *frame, int depth)
{
    if (depth > PB_MAX_DEPTH)
        return fail(s, m, NULL, data, "nesting deeper than %d levels", PB_MAX_DEPTH);
    pb_reader r = pb_reader_of(data, len);
    uint64_t seen = 0;
    uint32_t counts[PB_MAX_FIELDS] = {0};
    while (r.p < r.end) {
        pb_site x = {.s = s, .m = m, .at = r.p, .obj = obj, .frame = frame, .depth = depth};
        uint32_t number;
        pb_wire wire;
        int rc = pb_read_tag(&r, &number, &wire);
        if (rc)
            return fail(s, m, NULL, x.at, "%s", pb_strerror(rc));
        if (!(x.f = find_field(m, number)))
            return unsupported(s, m, number);
        size_t i = (size_t)(x.f - m->fields);
        x.first = !(seen & (1ull << i));
        seen |= 1ull << i;
        if ((rc = decode_field(&x, &r, wire, &counts[i])))
            return rc;
    }
    for (size_t i = 0; i < m->nfields; i++) {
        cJSON *map;
        if (m->fields[i].kind == PB_MAP && (seen & (1ull << i)) &&
            (map = cJSON_GetObjectItemCaseSensitive(obj, m->fields[i].name)))
            resolve_map_keys(s, &m->fields[i], map, frame);
    }
    return 0;
}

int pb_decode(const pb_message *m, const void *data, size_t len, cJSON *into, cJSON *dups,
              api_error *err)
{
    static const uint8_t empty[1];
    const uint8_t *bytes = len ? (const uint8_t *)data : empty;
    pb_session s = {.base = bytes, .dups = dups, .err = err};
    pb_frame top = {NULL, NULL, -1};
    int rc = decode_message(&s, m, bytes, len, into, &top, 0);
    return rc < 0 ? rc : s.ndups;
}

/* ---- descriptor checks --------------------------------------------------------------------- */

static int bad_descriptor(api_error *err, const pb_message *m, const pb_field *f, const char *why)
{
    if (f)
        apierr_internal(err, "descriptor %s, field %" PRIu32 ": %s", m->name, f->number, why);
    else
        apierr_internal(err, "descriptor %s: %s", m->name, why);
    return -EINVAL;
}

/* Appends the JSON names m puts into one object (its inline messages' included) to names. */
static int collect_names(const pb_message *m, const char **names, size_t *n, size_t cap, int depth,
                         api_error *err)
{
    if (depth > PB_MAX_DEPTH)
        return bad_descriptor(err, m, NULL, "inline messages nest too deep");
    for (size_t i = 0; i < m->nfields; i++) {
        const pb_field *f = &m->fields[i];
        if (f->kind == PB_INLINE) {
            if (!f->message)
                return bad_descriptor(err, m, f, "inline field without a message");
            int rc = collect_names(f->message, names, n, cap, depth + 1, err);
            if (rc)
                return rc;
            continue;
        }
        if (!f->name || !*f->name)
            return bad_descriptor(err, m, f, "no JSON name");
        for (size_t k = 0; k < *n; k++)
            if (strcmp(names[k], f->name) == 0)
                return bad_descriptor(err, m, f, "JSON name given twice in one object");
        if (*n == cap)
            return bad_descriptor(err, m, f, "too many members in one object");
        names[(*n)++] = f->name;
    }
    return 0;
}

static int check_field(const pb_message *m, const pb_field *f, api_error *err)
{
    bool wants_message = f->kind == PB_MESSAGE || f->kind == PB_INLINE;
    if (f->number == 0 || f->number > 0x1fffffff)
        return bad_descriptor(err, m, f, "number out of range");
    if (wants_message && !f->message)
        return bad_descriptor(err, m, f, "message kind without a message");
    if (!wants_message && f->kind != PB_MAP && f->message)
        return bad_descriptor(err, m, f, "scalar with a message");
    if ((f->flags & PB_REPEATED) && (f->kind == PB_INLINE || f->kind == PB_MAP))
        return bad_descriptor(err, m, f, "repeated inline message or map");
    if (f->kind == PB_INLINE && (f->message->to_json || f->name))
        return bad_descriptor(err, m, f, "inline message with a to_json or a name");
    for (const pb_field *g = m->fields; g < f; g++)
        if (g->number == f->number)
            return bad_descriptor(err, m, f, "number given twice");
    return 0;
}

static int check_message(const pb_message *m, int depth, api_error *err)
{
    if (depth > PB_MAX_DEPTH)
        return bad_descriptor(err, m, NULL, "messages nest deeper than PB_MAX_DEPTH");
    if (m->nfields > PB_MAX_FIELDS || (m->nfields && !m->fields))
        return bad_descriptor(err, m, NULL, "more than PB_MAX_FIELDS fields");
    const char *names[4 * PB_MAX_FIELDS];
    size_t n = 0;
    int rc = collect_names(m, names, &n, sizeof names / sizeof names[0], 0, err);
    for (size_t i = 0; rc == 0 && i < m->nfields; i++) {
        const pb_field *f = &m->fields[i];
        rc = check_field(m, f, err);
        if (rc == 0 && f->message)
            rc = check_message(f->message, depth + 1, err);
    }
    return rc;
}

int pb_check_descriptor(const pb_message *m, api_error *err)
{
    return check_message(m, 0, err);
}
