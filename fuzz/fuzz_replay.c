/*  fuzz_replay — runs a fuzz target over files, without libFuzzer.

    In the normal build every target is linked with this main instead of libFuzzer, and
    ctest runs it over the target's corpus (fuzz/corpus/<target>/), so the corpus is a
    regression suite for every compiler and sanitizer the project is built with:
        fuzz_replay_msg fuzz/corpus/msg            every file in the directory
        fuzz_replay_msg crash-1234 crash-5678      single files (a finding to reproduce)
    Exits 0 when every input ran (a finding crashes the process), 1 when an argument cannot
    be read or a directory is empty: a corpus that silently vanished must fail the test.
*/
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Reads the whole file into a malloc'd buffer. Returns 0, or -1 (reported). */
static int s_read_file(const char *path, uint8_t **data, size_t *size)
{
    FILE *file = fopen(path, "rb");
    if (!file) {
        fprintf(stderr, "fuzz_replay: cannot open %s\n", path);
        return -1;
    }
    size_t capacity = 4096, used = 0;
    uint8_t *buffer = malloc(capacity);
    while (buffer) {
        used += fread(buffer + used, 1, capacity - used, file);
        if (used < capacity)
            break;
        capacity *= 2;
        uint8_t *grown = realloc(buffer, capacity);
        if (!grown) {
            free(buffer);
            buffer = NULL;
        } else
            buffer = grown;
    }
    bool failed = !buffer || ferror(file);
    fclose(file);
    if (failed) {
        fprintf(stderr, "fuzz_replay: cannot read %s\n", path);
        free(buffer);
        return -1;
    }
    *data = buffer;
    *size = used;
    return 0;
}

/* Feeds one file to the target. Returns 0, or -1 when it cannot be read. */
static int s_run_file(const char *path)
{
    uint8_t *data = NULL;
    size_t size = 0;
    if (s_read_file(path, &data, &size) != 0)
        return -1;
    /* An exact-size copy, so that a read past the input's end is caught by ASan. */
    uint8_t *exact = malloc(size ? size : 1);
    if (!exact) {
        free(data);
        return -1;
    }
    memcpy(exact, data, size);
    free(data);
    LLVMFuzzerTestOneInput(exact, size);
    free(exact);
    return 0;
}

/* qsort order of file names: a directory replays in the same order everywhere. */
static int s_compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file of a directory, in name order. Returns the count, or -1. */
static long s_run_directory(const char *path)
{
    DIR *dir = opendir(path);
    if (!dir) {
        fprintf(stderr, "fuzz_replay: cannot open directory %s\n", path);
        return -1;
    }
    char **names = NULL;
    size_t count = 0, capacity = 0;
    struct dirent *entry;
    while ((entry = readdir(dir))) {
        if (entry->d_name[0] == '.')
            continue;
        if (count == capacity) {
            capacity = capacity ? capacity * 2 : 64;
            char **grown = realloc(names, capacity * sizeof *names);
            if (!grown)
                break;
            names = grown;
        }
        names[count] = strdup(entry->d_name);
        if (names[count])
            count++;
    }
    closedir(dir);
    qsort(names, count, sizeof *names, s_compare_names);
    long ran = 0;
    for (size_t i = 0; i < count; i++) {
        char file[4096];
        snprintf(file, sizeof file, "%s/%s", path, names[i]);
        struct stat info;
        if (stat(file, &info) == 0 && S_ISREG(info.st_mode)) {
            if (s_run_file(file) != 0)
                ran = -1;
            else if (ran >= 0)
                ran++;
        }
        free(names[i]);
    }
    free(names);
    return ran;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR|FILE...\n", argv[0]);
        return 1;
    }
    long total = 0;
    for (int i = 1; i < argc; i++) {
        struct stat info;
        if (stat(argv[i], &info) != 0) {
            fprintf(stderr, "fuzz_replay: %s does not exist\n", argv[i]);
            return 1;
        }
        if (S_ISDIR(info.st_mode)) {
            long ran = s_run_directory(argv[i]);
            if (ran <= 0) {
                fprintf(stderr, "fuzz_replay: %s: %s\n", argv[i],
                        ran == 0 ? "no inputs" : "an input could not be read");
                return 1;
            }
            total += ran;
        } else {
            if (s_run_file(argv[i]) != 0)
                return 1;
            total++;
        }
    }
    printf("fuzz_replay: %ld inputs ran without a finding\n", total);
    return 0;
}
