#include "apiserver/resource/table.h"
#include "common/json.h"
#include "common/timefmt.h"

#include <stdlib.h>
#include <string.h>

/* Kinds without columns of their own: Name and Age (type "date", as kube's default table). */
static const api_column default_columns[] = {
    {"Name", "string", "name", API_COLUMN_NAME_DESCRIPTION, 0, "metadata.name", NULL},
    {"Age", "date", "", API_COLUMN_AGE_DESCRIPTION, 0, NULL, api_cell_age},
};

bool as_include_object_parse(const char *value, as_include_object *out)
{
    if (!value || !*value || strcmp(value, "Metadata") == 0)
        *out = AS_INCLUDE_METADATA;
    else if (strcmp(value, "Object") == 0)
        *out = AS_INCLUDE_OBJECT;
    else if (strcmp(value, "None") == 0)
        *out = AS_INCLUDE_NONE;
    else
        return false;
    return true;
}

static void list_meta(sbuf *out, const as_list_meta *m)
{
    sbuf_printf(out, "\"metadata\":{\"resourceVersion\":\"%llu\"", (unsigned long long)m->rev);
    if (m->cont)
        sbuf_printf(out, ",\"continue\":\"%s\"", m->cont);
    if (m->cont && m->remaining)
        sbuf_printf(out, ",\"remainingItemCount\":%zu", m->remaining);
    sbuf_putc(out, '}');
}

static void partial_of(sbuf *out, const char *version, const cJSON *obj)
{
    sbuf_printf(out,
                "{\"kind\":\"PartialObjectMetadata\",\"apiVersion\":\"meta.k8s.io/%s\","
                "\"metadata\":",
                version);
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    char *m = meta ? json_print(meta) : NULL;
    sbuf_puts(out, m ? m : "{}");
    free(m);
    sbuf_putc(out, '}');
}

/* A plain cell is the value at its path as stored (null when absent); a computed one is the
   kind's function's value (api/column.h). */
static void cell(sbuf *out, const api_column *c, const cJSON *obj, int64_t now_s)
{
    cJSON *computed = c->cell ? c->cell(obj, now_s) : NULL;
    const cJSON *v = c->cell ? computed : json_path(obj, c->path);
    char *s = v ? json_print(v) : NULL;
    sbuf_puts(out, s ? s : "null");
    free(s);
    cJSON_Delete(computed);
}

static void column_definitions(sbuf *out, const api_column *cols, int n)
{
    sbuf_puts(out, "\"columnDefinitions\":[");
    for (int i = 0; i < n; i++) {
        sbuf_printf(out, "%s{\"name\":", i ? "," : "");
        sbuf_json_string(out, cols[i].name);
        sbuf_printf(out, ",\"type\":\"%s\",\"format\":\"%s\",\"description\":", cols[i].type,
                    cols[i].format);
        sbuf_json_string(out, cols[i].description);
        sbuf_printf(out, ",\"priority\":%d}", cols[i].priority);
    }
    sbuf_putc(out, ']');
}

static void row(sbuf *out, const api_column *cols, int ncols, const wc_blob *b, const char *version,
                as_include_object include, int64_t now_s)
{
    cJSON *obj = cJSON_ParseWithLength(b->data, b->len);
    sbuf_puts(out, "{\"cells\":[");
    for (int i = 0; i < ncols; i++) {
        if (i)
            sbuf_putc(out, ',');
        cell(out, &cols[i], obj, now_s);
    }
    sbuf_putc(out, ']');
    if (include == AS_INCLUDE_OBJECT) {
        sbuf_puts(out, ",\"object\":");
        sbuf_append(out, b->data, b->len);
    } else if (include == AS_INCLUDE_METADATA) {
        sbuf_puts(out, ",\"object\":");
        partial_of(out, version, obj);
    }
    sbuf_putc(out, '}');
    cJSON_Delete(obj);
}

void as_table_render(sbuf *out, const as_resource *r, const char *version,
                     const wc_blob *const *items, size_t n, const as_list_meta *meta,
                     as_include_object include, bool headers, int64_t now_s)
{
    const api_column *cols = r->columns ? r->columns : default_columns;
    int ncols = r->columns ? r->ncolumns : 2;
    sbuf_printf(out, "{\"kind\":\"Table\",\"apiVersion\":\"meta.k8s.io/%s\",", version);
    list_meta(out, meta);
    sbuf_putc(out, ',');
    if (headers)
        column_definitions(out, cols, ncols);
    else
        sbuf_puts(out, "\"columnDefinitions\":null");
    sbuf_puts(out, ",\"rows\":[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            sbuf_putc(out, ',');
        row(out, cols, ncols, items[i], version, include, now_s);
    }
    sbuf_puts(out, "]}");
}

void as_partial_render(sbuf *out, const char *version, const char *json, size_t len)
{
    cJSON *obj = cJSON_ParseWithLength(json, len);
    partial_of(out, version, obj);
    cJSON_Delete(obj);
}

void as_partial_list_render(sbuf *out, const char *version, const wc_blob *const *items, size_t n,
                            const as_list_meta *meta)
{
    sbuf_printf(out, "{\"kind\":\"PartialObjectMetadataList\",\"apiVersion\":\"meta.k8s.io/%s\",",
                version);
    list_meta(out, meta);
    sbuf_puts(out, ",\"items\":[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            sbuf_putc(out, ',');
        as_partial_render(out, version, items[i]->data, items[i]->len);
    }
    sbuf_puts(out, "]}");
}
