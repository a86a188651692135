package kernels

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
)

// The AVX-512 micro-kernel cannot run on a CPU without AVX-512, so these
// tests execute the text of sgemm_amd64.s instead: simKernel decodes the
// few instruction forms the generated micro-kernels use and runs them on
// float32 lanes (fused multiply-adds rounded once, as the hardware does).
// On an AVX2 machine the simulation of sgemmKernelAVX2 is checked bit for
// bit against the real instructions, which vouches for the simulator; the
// simulated sgemmKernelAVX512 is then checked against the same reference.

// simInst is one decoded instruction: op and its operands in Go assembler
// order (sources first, destination last).
type simInst struct {
	op   string
	args []string
}

// simKernel is a micro-kernel's instructions and labels.
type simKernel struct {
	code   []simInst
	labels map[string]int
}

// loadSimKernel reads the TEXT block of function name from an assembly file.
func loadSimKernel(t *testing.T, file, name string) *simKernel {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	k := &simKernel{labels: map[string]int{}}
	in := false
	for _, line := range strings.Split(string(src), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "TEXT ") {
			if in {
				break
			}
			in = strings.HasPrefix(line, "TEXT ·"+name+"(SB)")
			continue
		}
		if !in || line == "" || strings.HasPrefix(line, "//") {
			continue
		}
		if strings.HasSuffix(line, ":") {
			k.labels[strings.TrimSuffix(line, ":")] = len(k.code)
			continue
		}
		op, rest, _ := strings.Cut(line, " ")
		var args []string
		for _, a := range strings.Split(rest, ",") {
			if a = strings.TrimSpace(a); a != "" {
				args = append(args, a)
			}
		}
		k.code = append(k.code, simInst{op, args})
	}
	if len(k.code) == 0 {
		t.Fatalf("%s: no TEXT block for %s", file, name)
	}
	return k
}

// simMachine is the state of one simulated call: integer registers (byte
// addresses into mem, which holds every buffer), vector registers, the
// argument frame and the zero flag.
type simMachine struct {
	gpr   map[string]int64
	vec   map[string][]float32
	frame map[int]int64 // argument byte offset -> value (float args as bits)
	mem   []float32
	zf    bool
}

// run executes k until RET, for at most steps instructions.
func (m *simMachine) run(t *testing.T, k *simKernel, steps int) {
	t.Helper()
	for pc := 0; pc < len(k.code); pc++ {
		if steps--; steps < 0 {
			t.Fatal("simulation did not return")
		}
		in := k.code[pc]
		a := in.args
		jump := func(cond bool) {
			if cond {
				pc = k.labels[a[0]] - 1
			}
		}
		switch in.op {
		case "MOVQ", "MOVL":
			m.gpr[a[1]] = m.int(t, a[0])
		case "ADDQ":
			m.setInt(a[1], m.gpr[a[1]]+m.int(t, a[0]))
		case "SUBQ":
			m.setInt(a[1], m.gpr[a[1]]-m.int(t, a[0]))
		case "SHLQ":
			m.setInt(a[1], m.gpr[a[1]]<<m.int(t, a[0]))
		case "SHRQ":
			m.setInt(a[1], int64(uint64(m.gpr[a[1]])>>m.int(t, a[0])))
		case "ANDQ", "ANDL":
			m.setInt(a[1], m.gpr[a[1]]&m.int(t, a[0]))
		case "IMULQ":
			m.setInt(a[1], m.gpr[a[1]]*m.int(t, a[0]))
		case "DECQ":
			m.setInt(a[0], m.gpr[a[0]]-1)
		case "TESTQ":
			m.zf = m.int(t, a[0])&m.int(t, a[1]) == 0
		case "JZ":
			jump(m.zf)
		case "JNZ":
			jump(!m.zf)
		case "JMP":
			jump(true)
		case "PREFETCHT0", "VZEROUPPER":
		case "RET":
			return
		case "VXORPS", "VPXORD":
			if a[0] != a[1] || a[1] != a[2] {
				t.Fatalf("unsupported %v", in)
			}
			m.vec[a[2]] = make([]float32, m.width(t, a[2]))
		case "VMOVUPS":
			if m.isVec(a[1]) {
				m.vec[a[1]] = m.load(t, a[0], m.width(t, a[1]))
			} else {
				copy(m.mem[m.addr(t, a[1])/4:], m.vec[a[0]])
			}
		case "VBROADCASTSS":
			v := make([]float32, m.width(t, a[1]))
			x := m.scalar(t, a[0])
			for i := range v {
				v[i] = x
			}
			m.vec[a[1]] = v
		case "VMULPS", "VADDPS":
			x, y := m.operand(t, a[0], a[2]), m.vec[a[1]]
			v := make([]float32, len(y))
			for i := range v {
				if in.op == "VMULPS" {
					v[i] = y[i] * x[i]
				} else {
					v[i] = y[i] + x[i]
				}
			}
			m.vec[a[2]] = v
		case "VFMADD231PS": // dst += src2 * src1 (Go order: src1, src2, dst)
			x, y, d := m.operand(t, a[0], a[2]), m.vec[a[1]], m.vec[a[2]]
			v := make([]float32, len(d))
			for i := range v {
				v[i] = FMA32(y[i], x[i], d[i])
			}
			m.vec[a[2]] = v
		default:
			t.Fatalf("simulator: unsupported instruction %v", in)
		}
	}
	t.Fatal("simulation ran off the end")
}

func (m *simMachine) setInt(reg string, v int64) { m.gpr[reg], m.zf = v, v == 0 }

func (m *simMachine) isVec(s string) bool { return s[0] == 'Y' || s[0] == 'Z' }

func (m *simMachine) width(t *testing.T, reg string) int {
	switch reg[0] {
	case 'Y':
		return 8
	case 'Z':
		return 16
	}
	t.Fatalf("not a vector register: %s", reg)
	return 0
}

// int evaluates an integer source: $imm, a register or an argument.
func (m *simMachine) int(t *testing.T, s string) int64 {
	switch {
	case strings.HasPrefix(s, "$"):
		v, err := strconv.ParseInt(s[1:], 0, 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	case strings.HasSuffix(s, "(FP)"):
		return m.frame[m.frameOff(t, s)]
	}
	v, ok := m.gpr[s]
	if !ok {
		t.Fatalf("read of unset register %s", s)
	}
	return v
}

// frameOff is the byte offset of an argument operand name+off(FP).
func (m *simMachine) frameOff(t *testing.T, s string) int {
	_, off, _ := strings.Cut(strings.TrimSuffix(s, "(FP)"), "+")
	v, err := strconv.Atoi(off)
	if err != nil {
		t.Fatalf("bad frame operand %s", s)
	}
	return v
}

// addr evaluates a memory operand off(REG) to a byte address.
func (m *simMachine) addr(t *testing.T, s string) int64 {
	off, reg, ok := strings.Cut(strings.TrimSuffix(s, ")"), "(")
	if !ok {
		t.Fatalf("not a memory operand: %s", s)
	}
	var d int64
	if off != "" {
		v, err := strconv.ParseInt(off, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		d = v
	}
	a := m.gpr[reg] + d
	if a%4 != 0 || a < 0 {
		t.Fatalf("misaligned or negative address %d from %s", a, s)
	}
	return a
}

func (m *simMachine) load(t *testing.T, s string, n int) []float32 {
	i := m.addr(t, s) / 4
	if int(i)+n > len(m.mem) {
		t.Fatalf("load of %d floats at %s past the end of memory", n, s)
	}
	return append([]float32(nil), m.mem[i:int(i)+n]...)
}

// scalar reads a float32 from memory or from the argument frame.
func (m *simMachine) scalar(t *testing.T, s string) float32 {
	if strings.HasSuffix(s, "(FP)") {
		return math.Float32frombits(uint32(m.frame[m.frameOff(t, s)]))
	}
	return m.load(t, s, 1)[0]
}

// operand reads a vector source that may be a register or memory, as wide
// as register like.
func (m *simMachine) operand(t *testing.T, s, like string) []float32 {
	if m.isVec(s) {
		return m.vec[s]
	}
	return m.load(t, s, m.width(t, like))
}

// simCall runs kernel k as the assembly function would be called with
// (depth, a, b, c, ldc, alpha, beta, n, as, add's pointers), on copies of
// the buffers, and returns the resulting c.
func simCall(t *testing.T, k *simKernel, depth int, a, b, c []float32, ldc int, alpha, beta float32, n, as int, add tileAdds) []float32 {
	t.Helper()
	mem := append(append(append([]float32(nil), a...), b...), c...)
	bOff, cOff := int64(4*len(a)), int64(4*(len(a)+len(b)))
	place := func(x []float32) int64 { // a nil pointer for none
		if x == nil {
			return 0
		}
		off := int64(4 * len(mem))
		mem = append(mem, x...)
		return off
	}
	col, row, res := place(add.col), place(add.row), place(add.res)
	m := &simMachine{gpr: map[string]int64{}, vec: map[string][]float32{}, mem: mem, frame: map[int]int64{
		0: int64(depth), 8: 0, 16: bOff, 24: cOff, 32: int64(ldc),
		40: int64(math.Float32bits(alpha)), 44: int64(math.Float32bits(beta)), 48: int64(n), 56: int64(as),
		64: col, 72: row, 80: res,
	}}
	m.run(t, k, 1<<24)
	return m.mem[len(a)+len(b) : len(a)+len(b)+len(c)]
}

// fmaReference is the micro-kernel's arithmetic in Go: per element, the
// depth sum fused step by step, times alpha, then beta*C fused in (C not
// read when beta is ±0), then each of add's terms that is present.
func fmaReference(mr, nr, depth int, a, b, c []float32, ldc int, alpha, beta float32, n, as int, add tileAdds) []float32 {
	out := append([]float32(nil), c...)
	for p := range n {
		for i := range mr {
			for j := range nr {
				var acc float32
				for q := range depth {
					acc = FMA32(b[q*nr+j], a[p*as+q*mr+i], acc)
				}
				acc *= alpha
				e := &out[(p*mr+i)*ldc+j]
				if beta != 0 {
					acc = FMA32(*e, beta, acc)
				}
				row := p*mr + i
				if add.col != nil {
					acc += add.col[j]
				}
				if add.row != nil {
					acc += add.row[row]
				}
				if add.res != nil {
					acc += add.res[row*ldc+j]
				}
				*e = acc
			}
		}
	}
	return out
}

// simCases are the shapes each simulated kernel runs: depths around the
// unrolling by four, several panels spaced wider than they are long, and a
// C wider than the tile.
var simCases = []struct{ depth, n, gap, ldcExtra int }{
	{1, 1, 0, 0}, {3, 2, 5, 3}, {4, 1, 0, 1}, {7, 3, 0, 0}, {13, 2, 9, 7},
}

// TestAVX512KernelText simulates sgemmKernelAVX512 and compares it bit for
// bit with the reference arithmetic.
func TestAVX512KernelText(t *testing.T) {
	testKernelText(t, "sgemmKernelAVX512", 8, 32)
}

// TestAVX2KernelText does the same for sgemmKernelAVX2; asmsim_amd64_test.go
// also runs it on the hardware.
func TestAVX2KernelText(t *testing.T) {
	testKernelText(t, "sgemmKernelAVX2", 6, 16)
}

func testKernelText(t *testing.T, name string, mr, nr int) {
	k := loadSimKernel(t, "sgemm_amd64.s", name)
	forSimCases(mr, nr, func(depth, n, as, ldc int, beta float32, a, b, c []float32, add tileAdds) {
		got := simCall(t, k, depth, a, b, c, ldc, 0.75, beta, n, as, add)
		want := fmaReference(mr, nr, depth, a, b, c, ldc, 0.75, beta, n, as, add)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%s depth %d n %d beta %v adds %v: C[%d] = %v, want %v", name, depth, n, beta, add.present(), i, got[i], want[i])
			}
		}
	})
}

// present names the terms of t that are set, for failure messages.
func (t tileAdds) present() string {
	return fmt.Sprintf("col %v row %v res %v", t.col != nil, t.row != nil, t.res != nil)
}

// forSimCases calls f with the buffers of every simCases shape for an
// mr×nr kernel, beta 0, 1 and -0.5, and each combination of a column
// bias, a row bias and a residual; alpha is 0.75.
func forSimCases(mr, nr int, f func(depth, n, as, ldc int, beta float32, a, b, c []float32, add tileAdds)) {
	for ci, c := range simCases {
		as, ldc := mr*c.depth+c.gap, nr+c.ldcExtra
		a, b := randSlice(uint64(ci+1), (c.n-1)*as+mr*c.depth), randSlice(uint64(ci+50), nr*c.depth)
		cm := randSlice(uint64(ci+90), c.n*mr*ldc)
		col, row, res := randSlice(uint64(ci+120), nr), randSlice(uint64(ci+130), c.n*mr), randSlice(uint64(ci+140), c.n*mr*ldc)
		for _, beta := range []float32{0, 1, -0.5} {
			for mask := range 8 {
				add := maskAdds(mask, col, row, res)
				f(c.depth, c.n, as, ldc, beta, a, b, cm, add)
			}
		}
	}
}

// String formats an instruction, for failure messages.
func (in simInst) String() string { return fmt.Sprintf("%s %s", in.op, strings.Join(in.args, ", ")) }
