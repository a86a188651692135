// Command asmgen writes the assembly of package kernels: sgemm_amd64.s,
// exp_amd64.s and winograd_amd64.s for amd64, sgemm_arm64.s for arm64. It
// exists so that the AVX-512 micro-kernel is the AVX2 one with wider
// registers by construction, and so that the unrolled loops, constant
// tables and NEON encodings have a single source. Run it from
// internal/kernels with go generate.
package main

import (
	"fmt"
	"log"
	"os"
	"strings"
)

func main() {
	for name, text := range files() {
		if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}

// files maps each generated file's name to its text.
func files() map[string]string {
	return map[string]string{"sgemm_amd64.s": sgemmFile(), "exp_amd64.s": expFile(), "winograd_amd64.s": wgFile(), "sgemm_arm64.s": neonFile()}
}

// asm accumulates lines of assembly.
type asm struct{ b strings.Builder }

func (a *asm) l(format string, args ...any) { fmt.Fprintf(&a.b, format+"\n", args...) }

// in writes one tab-indented instruction.
func (a *asm) in(format string, args ...any) { a.l("\t"+format, args...) }

// mem formats a displacement off a register, dropping a zero offset.
func mem(off int, reg string) string {
	if off == 0 {
		return "(" + reg + ")"
	}
	return fmt.Sprintf("%d(%s)", off, reg)
}
