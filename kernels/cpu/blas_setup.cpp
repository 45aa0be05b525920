#include "kernels/cpu/blas_setup.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>

#ifdef DESKPILOT_HAVE_OPENBLAS
#include <cpuid.h>
#include <dlfcn.h>
#endif

namespace deskpilot::kernels {

#ifdef DESKPILOT_HAVE_OPENBLAS
namespace {

// cblas.h's values for the arguments used here.
constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;

using SgemmFn = void (*)(int order, int trans_a, int trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                         const float* b, int ldb, float beta, float* c, int ldc);
using SetThreadsFn = void (*)(int);
using CoreNameFn = char* (*)();

struct Blas {
  SgemmFn sgemm = nullptr;
  CoreNameFn core_name = nullptr;
};

// The kernel family that this CPU and OS can run, by feature rather than by
// model number; nullptr where OpenBLAS's own choice is as good. (The
// feature checks include the OS's support for the wider registers.)
const char* core_for_this_cpu() {
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512cd")) {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;  // leaf 7 subleaf 1, EAX bit 5: AVX512_BF16
    const bool bf16 = __get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx) && (eax & (1u << 5)) != 0;
    return bf16 ? "Cooperlake" : "SkylakeX";
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
  return nullptr;
}

// ---- Telling an OpenBLAS that initialises before main() ----
// Programs that link OpenCV load OpenBLAS at start-up (OpenCV links LAPACK),
// and it initialises before any code of ours; the C library, which
// initialises just before it, resets the environment to the array the
// kernel passed, dropping anything setenv() added earlier. So from the
// executable's .preinit_array, which runs before every library's
// initialiser, one entry of that very array that no library reads as it
// initialises ("_", the shell's record of the program's path, or SHLVL,
// OLDPWD, PWD, HOSTNAME) is lent to "OPENBLAS_CORETYPE=...", and given back
// by a constructor of the executable, which runs after every library's.
// With none of those entries nothing is lent and linear() says how to set it.

char g_core_entry[64];         // "OPENBLAS_CORETYPE=<core>", lent into the environment
char** g_lent_slot = nullptr;  // the environment slot lent
char* g_lent_value = nullptr;  // what it held

// The environment entry to lend: the first of kLendable present, or nullptr.
char** lendable_slot(char** envp) {
  static const char* const kLendable[] = {"_=", "SHLVL=", "OLDPWD=", "PWD=", "HOSTNAME="};
  for (const char* name : kLendable) {
    for (char** e = envp; *e != nullptr; ++e) {
      if (std::strncmp(*e, name, std::strlen(name)) == 0) return e;
    }
  }
  return nullptr;
}

void lend_coretype(int, char**, char** envp) {
  if (envp == nullptr) return;
  for (char** e = envp; *e != nullptr; ++e) {
    if (std::strncmp(*e, "OPENBLAS_CORETYPE=", 18) == 0) return;  // the user's choice stands
  }
  char** slot = lendable_slot(envp);
  if (slot == nullptr) return;
  __builtin_cpu_init();  // no constructor has run yet: the feature bits are not read
  const char* core = core_for_this_cpu();
  if (core == nullptr) return;
  // No formatting functions: the C library has not initialised.
  std::memcpy(g_core_entry, "OPENBLAS_CORETYPE=", 18);
  std::memcpy(g_core_entry + 18, core, std::strlen(core) + 1);
  g_lent_slot = slot;
  g_lent_value = *slot;
  *slot = g_core_entry;
}

__attribute__((section(".preinit_array"), used)) void (*const kLendCoretype)(int, char**, char**) = lend_coretype;

__attribute__((constructor)) void give_back_slot() {
  if (g_lent_slot == nullptr || *g_lent_slot != g_core_entry) return;
  *g_lent_slot = g_lent_value;
  setenv("OPENBLAS_CORETYPE", g_core_entry + 18, 0);  // kept for dlopen below and for child processes
}

Blas open_blas() {
  const char* wanted = core_for_this_cpu();
  if (std::getenv("OPENBLAS_CORETYPE") == nullptr && wanted != nullptr) setenv("OPENBLAS_CORETYPE", wanted, 0);
  Blas blas;
  void* lib = nullptr;
  for (const char* name : {"libopenblas.so.0", DESKPILOT_OPENBLAS_PATH}) {
    if ((lib = dlopen(name, RTLD_NOW | RTLD_LOCAL)) != nullptr) break;
  }
  if (lib == nullptr) {
    std::fprintf(stderr, "deskpilot: cannot open OpenBLAS (%s); prefill uses the plain GEMM, several times slower\n",
                 dlerror());
    return blas;
  }
  blas.sgemm = reinterpret_cast<SgemmFn>(dlsym(lib, "cblas_sgemm"));
  blas.core_name = reinterpret_cast<CoreNameFn>(dlsym(lib, "openblas_get_corename"));
  // linear() hands each OpenMP thread a block of its own; OpenBLAS's threads would fight them for the cores.
  if (auto set_threads = reinterpret_cast<SetThreadsFn>(dlsym(lib, "openblas_set_num_threads"))) set_threads(1);
  if (blas.sgemm == nullptr) {
    std::fprintf(stderr, "deskpilot: OpenBLAS has no cblas_sgemm; prefill uses the plain GEMM\n");
  } else if (blas.core_name != nullptr && wanted != nullptr && std::strcmp(blas.core_name(), "Prescott") == 0) {
    std::fprintf(stderr,
                 "deskpilot: OpenBLAS runs its SSE3 (Prescott) kernels on this CPU; prefill would be about 3x faster "
                 "with OPENBLAS_CORETYPE=%s in the environment\n",
                 wanted);
  }
  return blas;
}

const Blas& blas() {
  static const Blas loaded = open_blas();
  return loaded;
}

}  // namespace

bool blas_sgemm_nt(int64_t m, int64_t n, int64_t k, const float* a, const float* b, float* c, int64_t ldc) {
  const Blas& lib = blas();
  if (lib.sgemm == nullptr) return false;
  lib.sgemm(kRowMajor, kNoTrans, kTrans, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), 1.0f, a,
            static_cast<int>(k), b, static_cast<int>(k), 0.0f, c, static_cast<int>(ldc));
  return true;
}

const char* blas_core() {
  const Blas& lib = blas();
  return lib.core_name != nullptr ? lib.core_name() : "none";
}
#else
bool blas_sgemm_nt(int64_t, int64_t, int64_t, const float*, const float*, float*, int64_t) { return false; }
const char* blas_core() { return "none"; }
#endif

}  // namespace deskpilot::kernels
