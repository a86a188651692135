//go:build !noasm

package kernels

import (
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// asmsim_test.go executes the text of the AVX-512 micro-kernel; this test
// closes the remaining gap, the assembler's encoding of that text, which
// a CPU without AVX-512 cannot execute. It disassembles the function from
// the running test binary with GNU objdump (an independent EVEX decoder)
// and requires every decoded instruction to be the one written in
// sgemm_amd64.s: same operation, registers, displacements and jump
// targets. The AVX2 kernel, which the hardware runs, checks the
// translation itself.

// TestKernelEncoding compares the decoded micro-kernels with their text.
func TestKernelEncoding(t *testing.T) {
	objdump, err := exec.LookPath("objdump")
	if err != nil {
		t.Skip("GNU objdump not installed")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// Function addresses are read at run time and looked up in the file,
	// which only agree for a binary loaded at its link address.
	f, err := elf.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	typ := f.Type
	f.Close()
	if typ != elf.ET_EXEC {
		t.Skipf("test binary is %v, not a fixed-address executable", typ)
	}
	if raceBuild {
		t.Skip("the race detector's wrappers hide the call to the assembly body")
	}
	kernels := map[string]any{"sgemmKernelAVX512": sgemmKernelAVX512, "sgemmKernelAVX2": sgemmKernelAVX2}
	for name, fn := range kernels {
		t.Run(name, func(t *testing.T) {
			want := loadSimKernel(t, "sgemm_amd64.s", name)
			// go test strips the symbol table, so the function is found
			// through its Go entry point, a wrapper that calls the
			// assembly (ABI0) body.
			disasm := func(start uintptr, size int) []decoded {
				out, err := exec.Command(objdump, "-d", "--no-show-raw-insn",
					fmt.Sprintf("--start-address=%#x", start), fmt.Sprintf("--stop-address=%#x", start+uintptr(size)), exe).Output()
				if err != nil {
					t.Fatalf("objdump: %v", err)
				}
				return parseObjdump(string(out))
			}
			var body uintptr
			for _, in := range disasm(reflect.ValueOf(fn).Pointer(), 256) {
				if in.op == "call" {
					v, _ := strconv.ParseUint(in.args[0], 0, 64)
					body = uintptr(v)
					break
				}
			}
			if body == 0 {
				t.Fatal("no call to the assembly body in the Go wrapper")
			}
			got := disasm(body, 16*len(want.code))
			if len(got) < len(want.code) {
				t.Fatalf("%d instructions decoded, %d written", len(got), len(want.code))
			}
			labelAddr := map[string]string{}
			for l, i := range want.labels {
				labelAddr[l] = got[i].addr
			}
			got = got[:len(want.code)]
			for i, in := range want.code {
				op, args := attSyntax(t, in, labelAddr)
				g := got[i]
				if g.op == "imul" && len(g.args) == 3 && len(args) == 2 && g.args[1] == g.args[2] {
					g.args = g.args[:2] // imul $n, r is imul $n, r, r
				}
				if op != g.op || strings.Join(args, ",") != strings.Join(g.args, ",") {
					t.Errorf("instruction %d: written %v (%s %s), decoded %s %s", i, in, op, strings.Join(args, ","), g.op, strings.Join(g.args, ","))
				}
			}
		})
	}
}

// decoded is one instruction of objdump's AT&T listing.
type decoded struct {
	addr, op string
	args     []string
}

var objdumpLine = regexp.MustCompile(`^\s*([0-9a-f]+):\s+(\S+)\s*(.*)$`)

// parseObjdump reads objdump's listing; a jump's operand keeps only the
// target address.
func parseObjdump(out string) []decoded {
	var code []decoded
	for _, line := range strings.Split(out, "\n") {
		m := objdumpLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		d := decoded{addr: "0x" + m[1], op: m[2]}
		rest := m[3]
		if strings.HasPrefix(d.op, "j") || d.op == "call" {
			rest, _, _ = strings.Cut(rest, " ")
		}
		depth, start := 0, 0
		for i, c := range rest {
			switch c {
			case '(':
				depth++
			case ')':
				depth--
			case ',':
				if depth == 0 {
					d.args = append(d.args, rest[start:i])
					start = i + 1
				}
			}
		}
		if rest != "" {
			d.args = append(d.args, rest[start:])
		}
		code = append(code, d)
	}
	return code
}

var goOps = map[string]string{"RET": "ret", "JZ": "je", "JNZ": "jne", "JMP": "jmp", "MOVLQSX": "movslq"}

// attSyntax writes a Go assembler instruction as objdump prints it.
func attSyntax(t *testing.T, in simInst, labelAddr map[string]string) (string, []string) {
	t.Helper()
	op, ok := goOps[in.op]
	if !ok {
		op = strings.ToLower(in.op)
		if !strings.HasPrefix(op, "v") && !strings.HasPrefix(op, "prefetch") {
			op = op[:len(op)-1] // MOVQ, ANDL: the operands give the width
		}
	}
	long := strings.HasSuffix(in.op, "L") && in.op != "MOVLQSX"
	var args []string
	for _, a := range in.args {
		if addr, ok := labelAddr[a]; ok && strings.HasPrefix(op, "j") {
			args = append(args, addr)
			continue
		}
		args = append(args, attOperand(t, a, long))
	}
	return op, args
}

var gpr = map[string]string{"AX": "ax", "BX": "bx", "CX": "cx", "DX": "dx", "SI": "si", "DI": "di", "BP": "bp", "SP": "sp"}

// attOperand translates one operand. FP arguments are offsets from the
// stack pointer plus the return address, as the assembler lays out a
// frameless function.
func attOperand(t *testing.T, a string, long bool) string {
	t.Helper()
	reg := func(r string, long bool) string {
		if x, ok := gpr[r]; ok {
			if long {
				return "%e" + x
			}
			return "%r" + x
		}
		if len(r) > 1 && r[0] == 'R' {
			if long {
				return "%" + strings.ToLower(r) + "d"
			}
			return "%" + strings.ToLower(r)
		}
		for p, n := range map[byte]string{'X': "xmm", 'Y': "ymm", 'Z': "zmm"} {
			if r[0] == p {
				if _, err := strconv.Atoi(r[1:]); err == nil {
					return "%" + n + r[1:]
				}
			}
		}
		t.Fatalf("unknown register %q", r)
		return ""
	}
	hex := func(s string) string {
		v, err := strconv.ParseInt(s, 0, 64)
		if err != nil {
			t.Fatalf("bad number %q", s)
		}
		if v < 0 {
			return fmt.Sprintf("-0x%x", -v)
		}
		return fmt.Sprintf("0x%x", v)
	}
	switch {
	case strings.HasPrefix(a, "$"):
		return "$" + hex(a[1:])
	case strings.HasSuffix(a, "(FP)"):
		_, off, _ := strings.Cut(strings.TrimSuffix(a, "(FP)"), "+")
		v, _ := strconv.Atoi(off)
		return fmt.Sprintf("0x%x(%%rsp)", v+8)
	case strings.Contains(a, "("):
		disp, mem, _ := strings.Cut(a, "(")
		base, index, _ := strings.Cut(strings.TrimSuffix(mem, ")"), ")(")
		s := "(" + reg(base, false) // addresses are 64-bit
		if index != "" {
			r, scale, _ := strings.Cut(index, "*")
			s += "," + reg(r, false) + "," + scale
		}
		s += ")"
		if disp != "" && disp != "0" {
			s = hex(disp) + s
		}
		return s
	}
	return reg(a, long)
}
