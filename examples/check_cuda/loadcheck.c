/* Why a shared library cannot be loaded. See loadcheck.h. */
#define _GNU_SOURCE
#include "loadcheck.h"

/* Every text goes into a fixed buffer, and a path that does not fit is cut: that is intended. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_NEEDED 64
#define MAX_LIBS 256

typedef struct {
    int ok, elfclass, machine;
    int nneeded;
    char needed[MAX_NEEDED][256];
    char runpath[4096], rpath[4096];
} elf_info;

typedef struct {
    char soname[256];
    char path[PATH_MAX];  /* "" when not found */
    char how[640];
    char needed_by[PATH_MAX];
    char skipped[1024];   /* candidates of the wrong architecture */
    char others[2048];    /* other copies the search passed over (lower priority) */
} lib_entry;

typedef struct {
    lib_entry libs[MAX_LIBS];
    int n;
    int self_class, self_machine;
    char *cache;          /* `ldconfig -p`, read once */
} walk;

static const char *machine_name(int m) {
    switch (m) {
    case EM_X86_64: return "x86_64";
    case EM_386: return "i386";
    case EM_AARCH64: return "aarch64";
    case EM_ARM: return "arm";
    case EM_PPC64: return "ppc64";
    case EM_S390: return "s390x";
    case EM_RISCV: return "riscv";
    }
    return "another architecture";
}

/* Reads an ELF file's class, machine, DT_NEEDED, DT_RUNPATH and DT_RPATH (64-bit little-endian objects;
 * for others only class and machine). */
static void read_elf(const char *path, elf_info *out) {
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    unsigned char ident[EI_NIDENT + 4];
    if (pread(fd, ident, sizeof ident, 0) != (ssize_t)sizeof ident || memcmp(ident, ELFMAG, SELFMAG) != 0) {
        close(fd);
        return;
    }
    out->ok = 1;
    out->elfclass = ident[EI_CLASS];
    out->machine = ident[EI_NIDENT + 2] | ident[EI_NIDENT + 3] << 8;  /* e_machine follows e_type */
    Elf64_Ehdr eh;
    if (out->elfclass != ELFCLASS64 || pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh || eh.e_phentsize != sizeof(Elf64_Phdr) ||
        eh.e_phnum > 256) {
        close(fd);
        return;
    }
    Elf64_Phdr ph[256];
    if (pread(fd, ph, sizeof(Elf64_Phdr) * eh.e_phnum, (off_t)eh.e_phoff) != (ssize_t)(sizeof(Elf64_Phdr) * eh.e_phnum)) {
        close(fd);
        return;
    }
    const Elf64_Phdr *dyn = NULL;
    for (int i = 0; i < eh.e_phnum; i++)
        if (ph[i].p_type == PT_DYNAMIC)
            dyn = &ph[i];
    if (!dyn || dyn->p_filesz > (1u << 20)) {
        close(fd);
        return;
    }
    size_t ndyn = dyn->p_filesz / sizeof(Elf64_Dyn);
    Elf64_Dyn *d = malloc(dyn->p_filesz + sizeof(Elf64_Dyn));
    if (!d || pread(fd, d, dyn->p_filesz, (off_t)dyn->p_offset) != (ssize_t)dyn->p_filesz) {
        free(d);
        close(fd);
        return;
    }
    Elf64_Addr strtab = 0;
    Elf64_Xword strsz = 0;
    for (size_t i = 0; i < ndyn && d[i].d_tag != DT_NULL; i++) {
        if (d[i].d_tag == DT_STRTAB)
            strtab = d[i].d_un.d_ptr;
        if (d[i].d_tag == DT_STRSZ)
            strsz = d[i].d_un.d_val;
    }
    off_t stroff = -1;  /* the string table's file offset, through the PT_LOAD segment that maps it */
    for (int i = 0; i < eh.e_phnum; i++)
        if (ph[i].p_type == PT_LOAD && strtab >= ph[i].p_vaddr && strtab < ph[i].p_vaddr + ph[i].p_filesz)
            stroff = (off_t)(ph[i].p_offset + (strtab - ph[i].p_vaddr));
    char *str = strsz && strsz < (16u << 20) && stroff >= 0 ? malloc(strsz + 1) : NULL;
    if (str && pread(fd, str, strsz, stroff) == (ssize_t)strsz) {
        str[strsz] = '\0';
        for (size_t i = 0; i < ndyn && d[i].d_tag != DT_NULL; i++) {
            Elf64_Xword off = d[i].d_un.d_val;
            if (off >= strsz)
                continue;
            if (d[i].d_tag == DT_NEEDED && out->nneeded < MAX_NEEDED)
                snprintf(out->needed[out->nneeded++], sizeof out->needed[0], "%s", str + off);
            else if (d[i].d_tag == DT_RUNPATH)
                snprintf(out->runpath, sizeof out->runpath, "%s", str + off);
            else if (d[i].d_tag == DT_RPATH)
                snprintf(out->rpath, sizeof out->rpath, "%s", str + off);
        }
    }
    free(str);
    free(d);
    close(fd);
}

static void dir_of(const char *path, char *out, size_t size) {
    snprintf(out, size, "%s", path);
    char *slash = strrchr(out, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(out, size, ".");
}

static const char *base_of(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* $ORIGIN (and ${ORIGIN}) replaced by the object's folder */
static void expand_origin(const char *entry, const char *origin, char *out, size_t size) {
    const char *at = strstr(entry, "$ORIGIN");
    size_t skip = 7;
    if (!at && (at = strstr(entry, "${ORIGIN}")))
        skip = 9;
    if (!at) {
        snprintf(out, size, "%s", entry);
        return;
    }
    snprintf(out, size, "%.*s%s%s", (int)(at - entry), entry, origin, at + skip);
}

static lib_entry *find_lib(walk *w, const char *soname) {
    for (int i = 0; i < w->n; i++)
        if (strcmp(w->libs[i].soname, soname) == 0)
            return &w->libs[i];
    return NULL;
}

static void append(char *buf, size_t size, const char *text) {
    size_t n = strlen(buf);
    if (n + 1 < size)
        snprintf(buf + n, size - n, "%s%s", n ? "; " : "", text);
}

/* Tries one candidate file; 1 when it is the one the loader takes. Copies it skips or passes over are
 * noted when they come from a folder named by a path list (not the cache or the default folders, which
 * hold every architecture's copies as a matter of course). */
static int try_candidate(walk *w, lib_entry *e, const char *file, const char *how) {
    if (access(file, F_OK) != 0)
        return 0;
    int note_it = strstr(how, "cache") == NULL && strstr(how, "default folder") == NULL;
    elf_info info;
    read_elf(file, &info);
    if (!info.ok || info.elfclass != w->self_class || info.machine != w->self_machine) {
        if (!note_it)
            return 0;
        char note[PATH_MAX + 128];
        snprintf(note, sizeof note, "%s (%s, %s)", file, info.ok ? (info.elfclass == ELFCLASS32 ? "32-bit" : "64-bit") : "not ELF",
                 info.ok ? machine_name(info.machine) : "unreadable");
        append(e->skipped, sizeof e->skipped, note);
        return 0;
    }
    if (e->path[0]) {
        if (note_it)
            append(e->others, sizeof e->others, file);
        return 0;
    }
    char real[PATH_MAX];
    snprintf(e->path, sizeof e->path, "%s", realpath(file, real) ? real : file);
    snprintf(e->how, sizeof e->how, "%s", how);
    return 1;
}

static void search_dirs(walk *w, lib_entry *e, const char *list, const char *origin, const char *how_fmt, const char *owner) {
    if (!list || !*list)
        return;
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", list);
    for (char *save = NULL, *tok = strtok_r(copy, ":", &save); tok; tok = strtok_r(NULL, ":", &save)) {
        char dir[PATH_MAX], file[PATH_MAX + 300], how[640];
        expand_origin(tok, origin, dir, sizeof dir);
        snprintf(file, sizeof file, "%s/%s", dir, e->soname);
        snprintf(how, sizeof how, how_fmt, tok, owner);
        try_candidate(w, e, file, how);
    }
}

static void search_cache(walk *w, lib_entry *e) {
    if (!w->cache) {
        w->cache = calloc(1, 1);
        for (const char *cmd = "/sbin/ldconfig -p 2>/dev/null"; cmd; cmd = cmd[1] == 's' ? "ldconfig -p 2>/dev/null" : NULL) {
            FILE *p = popen(cmd, "r");
            if (!p)
                continue;
            size_t len = 0;
            char buf[8192];
            size_t n;
            while ((n = fread(buf, 1, sizeof buf, p)) > 0) {
                char *more = realloc(w->cache, len + n + 1);
                if (!more)
                    break;
                w->cache = more;
                memcpy(w->cache + len, buf, n);
                len += n;
                w->cache[len] = '\0';
            }
            pclose(p);
            if (len)
                break;
        }
    }
    /* lines: "\tlibc10.so (libc6,x86-64) => /usr/lib/libc10.so" */
    for (char *line = w->cache; line && *line;) {
        char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        const char *name = line;
        while (*name == '\t' || *name == ' ')
            name++;
        size_t nlen = strlen(e->soname);
        const char *arrow = strstr(line, "=> ");
        if (strncmp(name, e->soname, nlen) == 0 && name[nlen] == ' ' && arrow && arrow < line + len) {
            char file[PATH_MAX];
            snprintf(file, sizeof file, "%.*s", (int)(line + len - arrow - 3), arrow + 3);
            try_candidate(w, e, file, "the ld.so cache (ldconfig, /etc/ld.so.conf)");
        }
        line = end ? end + 1 : NULL;
    }
}

/* Resolves `soname` needed by `owner` as ld.so does, once per soname. */
static lib_entry *resolve(walk *w, const char *soname, const char *owner, const elf_info *owner_info) {
    lib_entry *e = find_lib(w, soname);
    if (e || w->n >= MAX_LIBS)
        return e;
    e = &w->libs[w->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->soname, sizeof e->soname, "%s", soname);
    snprintf(e->needed_by, sizeof e->needed_by, "%s", owner);
    if (strchr(soname, '/')) {
        try_candidate(w, e, soname, "the path itself");
        return e;
    }
    /* already in this process (libc, libdl, ...): the loader reuses it */
    void *h = dlopen(soname, RTLD_LAZY | RTLD_NOLOAD);
    if (h) {
        dlclose(h);
        snprintf(e->path, sizeof e->path, "%s", soname);
        snprintf(e->how, sizeof e->how, "already loaded");
        return e;
    }
    char origin[PATH_MAX];
    dir_of(owner, origin, sizeof origin);
    if (!owner_info->runpath[0])
        search_dirs(w, e, owner_info->rpath, origin, "the RPATH entry %s of %s", owner);
    search_dirs(w, e, getenv("LD_LIBRARY_PATH"), origin, "the LD_LIBRARY_PATH entry %s%.0s", owner);
    search_dirs(w, e, owner_info->runpath, origin, "the RUNPATH entry %s of %s", owner);
    search_cache(w, e);
    search_dirs(w, e, "/lib64:/usr/lib64:/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/lib:/usr/lib", origin,
                "the default folder %s%.0s", owner);
    return e;
}

/* Breadth first, as the loader maps them. */
static void walk_tree(walk *w, const char *root) {
    char queue[MAX_LIBS][PATH_MAX];
    int head = 0, tail = 0;
    snprintf(queue[tail++], PATH_MAX, "%s", root);
    while (head < tail) {
        char obj[PATH_MAX];
        snprintf(obj, sizeof obj, "%s", queue[head++]);
        elf_info info;
        read_elf(obj, &info);
        for (int i = 0; i < info.nneeded; i++) {
            int known = find_lib(w, info.needed[i]) != NULL;
            lib_entry *e = resolve(w, info.needed[i], obj, &info);
            if (!known && e && e->path[0] && strcmp(e->how, "already loaded") != 0 && tail < MAX_LIBS)
                snprintf(queue[tail++], PATH_MAX, "%s", e->path);
        }
    }
}

/* 1 when `file` defines `symbol` (loaded on its own, locally, to ask). */
static int defines(const char *file, const char *symbol) {
    void *h = dlopen(file, RTLD_LAZY | RTLD_LOCAL);
    if (!h)
        return -1;
    int yes = dlsym(h, symbol) != NULL;
    dlclose(h);
    return yes;
}

static int from_ld_library_path(const lib_entry *e) { return strstr(e->how, "LD_LIBRARY_PATH") != NULL; }

void ltc_loadcheck_explain(ltc_loadcheck *out, const char *path, const char *err, const char *built_dirs) {
    memset(out, 0, sizeof *out);
    walk *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(out->kind, sizeof out->kind, "other");
        snprintf(out->message, sizeof out->message, "%s cannot be loaded: %s", path, err);
        return;
    }
    elf_info self;
    read_elf("/proc/self/exe", &self);
    w->self_class = self.elfclass;
    w->self_machine = self.machine;
    walk_tree(w, path);
    const char *ldp = getenv("LD_LIBRARY_PATH");
    char ldp_note[4200];
    snprintf(ldp_note, sizeof ldp_note, "LD_LIBRARY_PATH=%s", ldp ? ldp : "(unset)");
    char built[4200];
    snprintf(built, sizeof built, "%s", built_dirs && *built_dirs ? built_dirs : "(unknown)");

    const char *p;
    if ((p = strstr(err, ": cannot open shared object file"))) {
        snprintf(out->library, sizeof out->library, "%.*s", (int)(p - err), err);
        lib_entry *e = find_lib(w, out->library);
        if (e && e->skipped[0]) {
            snprintf(out->kind, sizeof out->kind, "wrong_architecture");
            snprintf(out->needed_by, sizeof out->needed_by, "%s", e->needed_by);
            snprintf(out->message, sizeof out->message,
                     "%s, needed by %s, exists only for another architecture: the loader skipped %s (this program is %s)",
                     out->library, e->needed_by, e->skipped, machine_name(w->self_machine));
            snprintf(out->fix, sizeof out->fix,
                     "install the %s build of %s (or of the package that ships it) and put its folder on LD_LIBRARY_PATH; "
                     "remove the other architecture's folder from LD_LIBRARY_PATH",
                     machine_name(w->self_machine), out->library);
        } else if (e) {
            snprintf(out->kind, sizeof out->kind, "missing");
            snprintf(out->needed_by, sizeof out->needed_by, "%s", e->needed_by);
            snprintf(out->message, sizeof out->message,
                     "%s, needed by %s, is not found: the loader searched LD_LIBRARY_PATH, the RUNPATH of %s, the ld.so cache "
                     "and the default folders",
                     out->library, e->needed_by, base_of(e->needed_by));
            snprintf(out->fix, sizeof out->fix,
                     "install the library that provides %s (for LibTorch's CUDA libraries: the matching nvidia-* pip packages, or "
                     "the LibTorch zip, which bundles them), or put the folder holding it on LD_LIBRARY_PATH; the program was built "
                     "against %s",
                     out->library, built);
        } else {
            snprintf(out->kind, sizeof out->kind, "missing");
            snprintf(out->message, sizeof out->message, "%s is not found", out->library);
            snprintf(out->fix, sizeof out->fix, "reinstall or rebuild; the program was built against %s", built);
        }
    } else if ((p = strstr(err, ": undefined symbol: "))) {
        snprintf(out->kind, sizeof out->kind, "undefined_symbol");
        snprintf(out->needed_by, sizeof out->needed_by, "%.*s", (int)(p - err), err);
        snprintf(out->symbol, sizeof out->symbol, "%.*s", (int)strcspn(p + 20, ", \n"), p + 20);
        /* the culprit: a direct dependency of the failing object whose copy lacks the symbol while another
         * copy has it; failing that, one taken from LD_LIBRARY_PATH over the object's RUNPATH */
        elf_info info;
        read_elf(out->needed_by, &info);
        lib_entry *culprit = NULL;
        char right[PATH_MAX] = "";
        for (int i = 0; i < info.nneeded && !culprit; i++) {
            lib_entry *e = find_lib(w, info.needed[i]);
            if (!e || !e->path[0] || !e->others[0] || strcmp(e->how, "already loaded") == 0)
                continue;
            if (defines(e->path, out->symbol) == 0) {
                char others[2048];
                snprintf(others, sizeof others, "%s", e->others);
                for (char *save = NULL, *o = strtok_r(others, "; ", &save); o; o = strtok_r(NULL, "; ", &save))
                    if (defines(o, out->symbol) == 1) {
                        culprit = e;
                        snprintf(right, sizeof right, "%s", o);
                        break;
                    }
            }
        }
        for (int i = 0; i < info.nneeded && !culprit; i++) {
            lib_entry *e = find_lib(w, info.needed[i]);
            if (e && from_ld_library_path(e) && e->others[0]) {
                culprit = e;
                snprintf(right, sizeof right, "%.*s", (int)strcspn(e->others, ";"), e->others);
            }
        }
        if (culprit) {
            char folder[PATH_MAX];
            dir_of(culprit->path, folder, sizeof folder);
            snprintf(out->library, sizeof out->library, "%s", culprit->soname);
            snprintf(out->picked, sizeof out->picked, "%s", culprit->path);
            snprintf(out->picked_how, sizeof out->picked_how, "%s", culprit->how);
            snprintf(out->message, sizeof out->message,
                     "%s needs %s, which the %s loaded does not define: the loader took %s from %s (%s), not the copy at %s; "
                     "two LibTorch or CUDA installations are mixed",
                     base_of(out->needed_by), out->symbol, culprit->soname, culprit->soname, folder, culprit->how, right);
            snprintf(out->fix, sizeof out->fix,
                     "remove %s from LD_LIBRARY_PATH (or put the folder of %s before it), so that %s comes from the same "
                     "installation as %s",
                     folder, right, culprit->soname, base_of(out->needed_by));
        } else {
            snprintf(out->message, sizeof out->message,
                     "%s needs %s, which none of the libraries loaded defines: it was built against other versions of them",
                     base_of(out->needed_by), out->symbol);
            snprintf(out->fix, sizeof out->fix,
                     "use one installation throughout: check LD_LIBRARY_PATH for another LibTorch or CUDA; the program was built "
                     "against %s",
                     built);
        }
    } else if ((p = strstr(err, "wrong ELF class")) || (p = strstr(err, "invalid ELF header")) ||
               (p = strstr(err, "ELF file")) ) {
        snprintf(out->kind, sizeof out->kind, "wrong_architecture");
        const char *colon = strstr(err, ": ");
        snprintf(out->library, sizeof out->library, "%.*s", colon ? (int)(colon - err) : 0, err);
        elf_info info;
        read_elf(out->library, &info);
        snprintf(out->message, sizeof out->message, "%s is not a library for this machine (%s; this program is %s)", out->library,
                 info.ok ? machine_name(info.machine) : "not an ELF file", machine_name(w->self_machine));
        snprintf(out->fix, sizeof out->fix, "install the %s build, or remove its folder from LD_LIBRARY_PATH",
                 machine_name(w->self_machine));
    } else if ((p = strstr(err, ": version `"))) {
        snprintf(out->kind, sizeof out->kind, "version");
        snprintf(out->library, sizeof out->library, "%.*s", (int)(p - err), err);
        snprintf(out->symbol, sizeof out->symbol, "%.*s", (int)strcspn(p + 11, "'"), p + 11);
        const char *req = strstr(err, "(required by ");
        if (req)
            snprintf(out->needed_by, sizeof out->needed_by, "%.*s", (int)strcspn(req + 13, ")"), req + 13);
        lib_entry *e = find_lib(w, base_of(out->library));
        snprintf(out->message, sizeof out->message, "%s is too old for %s: it lacks version %s%s%s", out->library,
                 out->needed_by[0] ? base_of(out->needed_by) : "the program", out->symbol, e ? ", and the loader took it from " : "",
                 e ? e->how : "");
        snprintf(out->fix, sizeof out->fix,
                 "put a newer %s first (for libstdc++: the one of the compiler or conda environment LibTorch came with), or "
                 "remove the folder of the old one from LD_LIBRARY_PATH",
                 base_of(out->library));
    } else {
        snprintf(out->kind, sizeof out->kind, "other");
        snprintf(out->message, sizeof out->message, "%s cannot be loaded: %s", path, err);
        snprintf(out->fix, sizeof out->fix, "check LD_LIBRARY_PATH and the installation; the program was built against %s", built);
    }
    if (!out->picked[0]) {
        lib_entry *e = find_lib(w, out->library[0] == '/' ? out->library : base_of(out->library));
        if (e && e->path[0]) {
            snprintf(out->picked, sizeof out->picked, "%s", e->path);
            snprintf(out->picked_how, sizeof out->picked_how, "%s", e->how);
        }
    }
    /* the evidence: the search, library by library, for the libraries that came from LD_LIBRARY_PATH or failed */
    size_t len = (size_t)snprintf(out->evidence, sizeof out->evidence, "dlerror: %s; %s", err, ldp_note);
    for (int i = 0; i < w->n && len < sizeof out->evidence; i++) {
        const lib_entry *e = &w->libs[i];
        if (e->path[0] && !from_ld_library_path(e) && !e->skipped[0] && strcmp(e->soname, out->library) != 0)
            continue;
        len += (size_t)snprintf(out->evidence + len, sizeof out->evidence - len, "; %s -> %s%s%s%s%s%s%s", e->soname,
                                e->path[0] ? e->path : "NOT FOUND", e->path[0] ? " (" : "", e->how, e->path[0] ? ")" : "",
                                e->others[0] ? ", passed over: " : "", e->others, e->skipped[0] ? ", skipped: " : "");
        if (e->skipped[0] && len < sizeof out->evidence)
            len += (size_t)snprintf(out->evidence + len, sizeof out->evidence - len, "%s", e->skipped);
    }
    free(w->cache);
    free(w);
}
