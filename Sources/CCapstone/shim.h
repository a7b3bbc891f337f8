#pragma once
#include <capstone/capstone.h>

// The operand union's members, read through functions so Swift does not depend on how it imports the anonymous union.
static inline int64_t cw_x86_op_imm(const cs_x86_op *op) { return op->imm; }
static inline x86_reg cw_x86_op_reg(const cs_x86_op *op) { return op->reg; }
static inline x86_op_mem cw_x86_op_mem(const cs_x86_op *op) { return op->mem; }
