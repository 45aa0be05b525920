// A QuantArithmetic (kernels/cpu/gemm.h) for one scope of a test, the
// default again after it.
#pragma once

#include "kernels/cpu/gemm.h"

namespace deskpilot::testing {

struct ScopedArithmetic {
  explicit ScopedArithmetic(kernels::QuantArithmetic a) { kernels::set_quant_arithmetic(a); }
  ~ScopedArithmetic() { kernels::set_quant_arithmetic(kernels::QuantArithmetic::kInt8); }
  ScopedArithmetic(const ScopedArithmetic&) = delete;
  ScopedArithmetic& operator=(const ScopedArithmetic&) = delete;
};

}  // namespace deskpilot::testing
