/* phasm-perf: the replacement of one compiled function, generated for its signature and discovered variables.
 *
 * Loaded into the program by agents/swap.js and installed with Interceptor.replaceFast, so the program's own
 * calls land here with the original's calling convention (the compiler places every argument). Modes:
 *   0 pass-through: call the original (the cost of the interception alone)
 *   1 capture: read every input, call the original (timed), read every output; a uniform reservoir sample of rows
 *   2 swap: read the model's inputs, run the surrogate (phasm_mlp_run, native), write every output, update counters
 *   3 timed pass-through: call the original and add up its thread CPU time (the function's share of a run)
 * The placeholders are filled by phasm_perf/native/shim.py. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*@TYPEDEFS@*/

typedef /*@RET@*/ (*phasm_fn)(/*@PARAMS@*/);
typedef void (*phasm_run_fn)(const float*, float*, int);

#define N_CAP_IN /*@N_CAP_IN@*/
#define N_CAP_OUT /*@N_CAP_OUT@*/
#define N_MODEL_IN /*@N_MODEL_IN@*/
#define N_MODEL_OUT /*@N_MODEL_OUT@*/
#define N_ROW (N_CAP_IN + N_CAP_OUT + 1)

static phasm_fn orig;
static phasm_run_fn run_model;
static int mode;
static int loaded;           /* the runtime is loaded on the first swapped call, by the program's own thread */
static long fallback;        /* calls the original answered because the runtime could not be loaded */
static char runtime_path[4096], weights_path[4096];
static char* g[/*@N_GLOBALS@*/ + 1];
static double* rows;
static long budget, calls, kept;
static double t_orig;
static uint64_t rng = 0x9E3779B97F4A7C15ull;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double clock_cost;  /* seconds of one cpu_now(), measured at the first timed call */

static uint64_t next_random(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static double* slot(void) { /* the reservoir: every call kept with probability budget / calls */
    if (kept < budget) return rows + (kept++) * N_ROW;
    uint64_t j = next_random() % (uint64_t)calls;
    return j < (uint64_t)budget ? rows + j * N_ROW : NULL;
}

static int load_runtime(void) {
    void* h = dlopen(runtime_path, RTLD_NOW | RTLD_LOCAL);
    if (!h) return -1;
    int (*load)(const char*) = (int (*)(const char*))dlsym(h, "phasm_mlp_load");
    run_model = (phasm_run_fn)dlsym(h, "phasm_mlp_run");
    if (!load || !run_model || load(weights_path) != 0) return -2;
    return 0;
}

/*@RET@*/ phasm_replacement(/*@PARAMS_NAMED@*/) {
    calls++;
    if (mode == 2 && !loaded) {
        loaded = load_runtime() == 0 ? 1 : -1;
    }
    if (mode == 2 && loaded < 0) {
        fallback++;
        /*@PASS@*/
    }
    if (mode == 2) {
        float in[N_MODEL_IN + 1], out[N_MODEL_OUT + 1];
/*@MODEL_IN@*/
        run_model(in, out, 1);
/*@COUNTERS@*/
/*@MODEL_OUT@*/
    }
    if (mode == 1) {
        double* row = slot();
        double before[N_CAP_IN + 1];
/*@CAP_IN@*/
        double t0 = now();
        /*@CALL_ORIG@*/
        double dt = now() - t0;
        t_orig += dt;
        if (row) {
            memcpy(row, before, sizeof(double) * N_CAP_IN);
            double* after = row + N_CAP_IN;
/*@CAP_OUT@*/
            row[N_CAP_IN + N_CAP_OUT] = dt;
        }
        /*@RETURN_R@*/
    }
    if (mode == 3) { /* thread CPU time: the program's times are compared in CPU time (shared machines) */
        if (clock_cost == 0) {
            double c0 = cpu_now();
            for (int k = 0; k < 1000; ++k) cpu_now();
            clock_cost = (cpu_now() - c0) / 1001;
        }
        double t0 = cpu_now();
        /*@CALL_ORIG@*/
        t_orig += cpu_now() - t0 - clock_cost;
        /*@RETURN_R@*/
    }
    /*@PASS@*/
}

/* The program's calls enter here (Interceptor.replaceFast): every register the System V convention lets a callee
 * clobber is saved and restored around the replacement, except those carrying its result. GCC's -fipa-ra lets a
 * caller in the same translation unit keep values in registers the original happened not to touch; a replacement
 * that clobbers them would corrupt the caller (a loop counter in rcx, say). Arguments stay in their registers, so
 * the replacement receives them unchanged; arguments on the stack are not supported through this entry. */
__asm__(
    ".text\n.globl phasm_entry\n.type phasm_entry,@function\nphasm_entry:\n"
    "push %rbp\nmov %rsp,%rbp\n"
    "push %rax\npush %rdi\npush %rsi\npush %rdx\npush %rcx\npush %r8\npush %r9\npush %r10\npush %r11\n"
    "sub $264,%rsp\n"
    "movdqu %xmm0,0(%rsp)\nmovdqu %xmm1,16(%rsp)\nmovdqu %xmm2,32(%rsp)\nmovdqu %xmm3,48(%rsp)\n"
    "movdqu %xmm4,64(%rsp)\nmovdqu %xmm5,80(%rsp)\nmovdqu %xmm6,96(%rsp)\nmovdqu %xmm7,112(%rsp)\n"
    "movdqu %xmm8,128(%rsp)\nmovdqu %xmm9,144(%rsp)\nmovdqu %xmm10,160(%rsp)\nmovdqu %xmm11,176(%rsp)\n"
    "movdqu %xmm12,192(%rsp)\nmovdqu %xmm13,208(%rsp)\nmovdqu %xmm14,224(%rsp)\nmovdqu %xmm15,240(%rsp)\n"
    "call phasm_replacement@PLT\n"
/*@RESTORE_XMM@*/
    "add $264,%rsp\n"
    "pop %r11\npop %r10\npop %r9\npop %r8\npop %rcx\npop %rdx\npop %rsi\npop %rdi\n"
/*@RESTORE_RAX@*/
    "pop %rbp\nret\n"
    ".size phasm_entry, .-phasm_entry\n");

int phasm_shim_init(void* original, int m, const char* runtime, const char* weights, long budget_, char* base) {
    orig = (phasm_fn)original;
    mode = m;
    snprintf(runtime_path, sizeof runtime_path, "%s", runtime ? runtime : "");
    snprintf(weights_path, sizeof weights_path, "%s", weights ? weights : "");
    budget = budget_;
/*@GLOBALS@*/
    if (m == 1) {
        rows = (double*)calloc((size_t)(budget > 0 ? budget : 1) * N_ROW, sizeof(double));
        if (!rows) return -1;
    }
    return 0;
}

/* header: calls, kept, seconds in the original, N_ROW, calls answered by the original (runtime not loaded), the
 * cost of one thread-CPU clock read (mode 3: 2 per call are in the run's CPU time, not in the original's),
 * then kept rows of N_ROW doubles */
long phasm_shim_dump(const char* path) {
    FILE* f = fopen(path, "wb");
    if (!f) return -1;
    double head[6] = {(double)calls, (double)kept, t_orig, (double)N_ROW, (double)fallback, clock_cost};
    fwrite(head, sizeof(double), 6, f);
    if (rows && kept) fwrite(rows, sizeof(double) * N_ROW, (size_t)kept, f);
    fclose(f);
    return calls;
}

long phasm_shim_calls(void) { return calls; }
