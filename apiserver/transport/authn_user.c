/*
 * authn_user.c - the users that authentication produces (authn.h): building, sharing, freeing.
 */
#include "apiserver/transport/authn.h"

#include "common/alloc.h"

#include <stdlib.h>
#include <string.h>

void authn_user_clear(authn_user *u)
{
    free(u->name);
    free(u->uid);
    for (int i = 0; i < u->ngroups; i++)
        free(u->groups[i]);
    free(u->groups);
    for (int i = 0; i < u->nextra; i++) {
        free(u->extra[i].key);
        for (int j = 0; j < u->extra[i].nvalues; j++)
            free(u->extra[i].values[j]);
        free(u->extra[i].values);
    }
    free(u->extra);
    memset(u, 0, sizeof *u);
}

authn_user *authn_user_ref(authn_user *u)
{
    atomic_fetch_add(&u->extra_refs, 1);
    return u;
}

void authn_user_free(authn_user *u)
{
    if (!u || atomic_fetch_sub(&u->extra_refs, 1) > 0)
        return;
    authn_user_clear(u);
    free(u);
}

bool authn_user_is_anonymous(const authn_user *u)
{
    return strcmp(u->name, AUTHN_USER_ANONYMOUS) == 0;
}

bool authn_user_has_group(const authn_user *u, const char *g)
{
    for (int i = 0; u && i < u->ngroups; i++)
        if (strcmp(u->groups[i], g) == 0)
            return true;
    return false;
}

void authn_user_add_group(authn_user *u, const char *g)
{
    u->groups = xrealloc(u->groups, sizeof(char *) * (size_t)(u->ngroups + 1));
    u->groups[u->ngroups++] = xstrdup(g);
}

authn_user *authn_user_copy_authenticated(const authn_user *src)
{
    authn_user *u = xcalloc(1, sizeof *u);
    u->name = xstrdup(src->name);
    u->uid = xstrdup(src->uid ? src->uid : "");
    for (int i = 0; i < src->ngroups; i++)
        authn_user_add_group(u, src->groups[i]);
    for (int i = 0; i < src->nextra; i++)
        for (int j = 0; j < src->extra[i].nvalues; j++)
            authn_user_add_extra(u, src->extra[i].key, src->extra[i].values[j]);
    authn_user_add_authenticated(u);
    return u;
}

void authn_user_add_authenticated(authn_user *u)
{
    if (!authn_user_has_group(u, AUTHN_GROUP_AUTHENTICATED))
        authn_user_add_group(u, AUTHN_GROUP_AUTHENTICATED);
}

authn_user *authn_anonymous(void)
{
    authn_user *u = xcalloc(1, sizeof *u);
    u->name = xstrdup(AUTHN_USER_ANONYMOUS);
    u->uid = xstrdup("");
    authn_user_add_group(u, AUTHN_GROUP_UNAUTHENTICATED);
    return u;
}

authn_user *authn_user_new(const char *name, const char *uid)
{
    authn_user *u = xcalloc(1, sizeof *u);
    u->name = xstrdup(name);
    u->uid = xstrdup(uid ? uid : "");
    return u;
}

void authn_user_add_extra(authn_user *u, const char *key, const char *value)
{
    authn_extra *e = NULL;
    for (int i = 0; i < u->nextra && !e; i++)
        if (strcmp(u->extra[i].key, key) == 0)
            e = &u->extra[i];
    if (!e) {
        u->extra = xrealloc(u->extra, sizeof *u->extra * (size_t)(u->nextra + 1));
        e = &u->extra[u->nextra++];
        *e = (authn_extra){.key = xstrdup(key)};
    }
    e->values = xrealloc(e->values, sizeof(char *) * (size_t)(e->nvalues + 1));
    e->values[e->nvalues++] = xstrdup(value);
}
