/*  lookout-keygen — makes the CURVE certificates that secure tcp:// between processes.

        lookout-keygen DIR [NAME...]

    For each NAME (default: server client) writes DIR/NAME.cert (the public key, safe to
    copy around) and DIR/NAME.cert_secret (the key pair, mode 0600: keep it on the host that
    uses it), in czmq's zcert format, and copies every public certificate except "server"
    into DIR/authorized/, the directory a server's LOOKOUT_CURVE_AUTHORIZED_DIR names. Then:
        servers (store, correlate, escalate's PUSH ...)  LOOKOUT_CURVE_SERVER_CERT=DIR/server.cert
                                                          LOOKOUT_CURVE_AUTHORIZED_DIR=DIR/authorized
        clients (ingest, notify workers ...)              LOOKOUT_CURVE_SERVER_CERT=DIR/server.cert
                                                          LOOKOUT_CURVE_CLIENT_CERT=DIR/NAME.cert
    (a process that does both sets all three). An existing file is never overwritten: a new
    key is made by removing the old files first. Keys are never printed; the public key of
    each certificate is, so a deployment can be checked against it.
    Exits 0 on success, 1 on any error, 2 on a usage error.
*/
#include <czmq.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A certificate name becomes a file name: letters, digits, '-', '_', '.'; not ".."-ish. */
static bool s_name_valid(const char *name)
{
    if (!*name || name[0] == '.' || strlen(name) > 64)
        return false;
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '-' || *c == '_' || *c == '.'))
            return false;
    return true;
}

static bool s_exists(const char *path)
{
    struct stat info;
    return stat(path, &info) == 0;
}

/* Makes DIR/NAME.cert and DIR/NAME.cert_secret, and DIR/authorized/NAME.cert unless NAME is
   the server. Returns 0, or 1 after printing why. */
static int s_make(const char *dir, const char *name)
{
    char path[4096], secret[4200], authorized[4200];
    snprintf(path, sizeof path, "%s/%s.cert", dir, name);
    snprintf(secret, sizeof secret, "%s_secret", path);
    snprintf(authorized, sizeof authorized, "%s/authorized/%s.cert", dir, name);
    if (s_exists(path) || s_exists(secret)) {
        fprintf(stderr, "lookout-keygen: %s exists: remove it first to make a new key\n", path);
        return 1;
    }
    zcert_t *cert = zcert_new();
    if (!cert) {
        fprintf(stderr, "lookout-keygen: cannot make a key pair\n");
        return 1;
    }
    zcert_set_meta(cert, "name", "%s", name);
    zcert_set_meta(cert, "made-by", "lookout-keygen");
    int rc = zcert_save(cert, path);
    /* the key pair is for its owner's eyes only, whatever the umask said */
    if (rc == 0 && chmod(secret, 0600) != 0)
        rc = -1;
    if (rc == 0 && strcmp(name, "server") != 0)
        rc = zcert_save_public(cert, authorized);
    if (rc != 0)
        fprintf(stderr, "lookout-keygen: cannot write %s: %s\n", path, strerror(errno));
    else
        printf("%s: public key %s\n", path, zcert_public_txt(cert));
    zcert_destroy(&cert);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: lookout-keygen DIR [NAME...]   (default names: server client)\n");
        return 2;
    }
    const char *dir = argv[1];
    char authorized[4096];
    snprintf(authorized, sizeof authorized, "%s/authorized", dir);
    if (zsys_dir_create("%s", authorized) != 0) {
        fprintf(stderr, "lookout-keygen: cannot create %s: %s\n", authorized, strerror(errno));
        return 1;
    }
    static const char *defaults[] = {"server", "client"};
    int count = argc > 2 ? argc - 2 : 2;
    int status = 0;
    for (int i = 0; i < count; i++) {
        const char *name = argc > 2 ? argv[i + 2] : defaults[i];
        if (!s_name_valid(name)) {
            fprintf(stderr, "lookout-keygen: %s: names are letters, digits, '-', '_', '.'\n", name);
            status = 2;
            continue;
        }
        if (s_make(dir, name) != 0)
            status = 1;
    }
    return status;
}
