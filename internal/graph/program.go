package graph

import (
	"fmt"
	"math"
	"runtime"
	"slices"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Program is a compiled graph: a gorgonia tape machine over custom ops whose
// outputs live in one arena laid out by liveness, so memory is allocated
// once per shape and reused every run.
type Program struct {
	b       *Builder
	vm      gorgonia.VM
	arena   []float32
	mapped  *mapping // the arena's memory while it is mapped (mapArena); nil before the first mapping
	inputs  []int
	outputs []int
	size    int // arena length in float32s
	flops   int64
	slowOps int64 // FLOPs of the slow ops
	// slowValid: the slow nodes' slots hold the results of the last
	// completed run; slowKept: this run's slow inputs repeat that run's,
	// so the slow ops skip their kernels (ops.Op.Keep).
	slowValid, slowKept bool
}

// Compile finishes a graph whose inputs are ins (in the order Run takes
// them) and whose results are outs. A shape error raised while building is
// returned here.
func Compile(b *Builder, build func(b *Builder) (ins, outs []*Tensor)) (*Program, error) {
	p, err := finish(b, build)
	if err != nil {
		return nil, err
	}
	if err := p.allocate(); err != nil {
		return nil, err
	}
	p.vm = gorgonia.NewTapeMachine(b.g)
	return p, nil
}

// PlanBytes builds and plans a graph as Compile does, without allocating
// its arena or a machine, and returns the arena's size in bytes: what a
// program compiled from it holds while it runs.
func PlanBytes(b *Builder, build func(b *Builder) (ins, outs []*Tensor)) (int64, error) {
	p, err := finish(b, build)
	if err != nil {
		return 0, err
	}
	return p.ArenaBytes(), nil
}

// finish builds the graph and plans its arena.
func finish(b *Builder, build func(b *Builder) (ins, outs []*Tensor)) (p *Program, err error) {
	defer func() {
		if r := recover(); r != nil {
			be, ok := r.(buildError)
			if !ok {
				panic(r)
			}
			p, err = nil, be.err
		}
	}()
	ins, outs := build(b)
	p = b.prog
	for _, t := range ins {
		if b.nodes[t.id].op != nil {
			return nil, fmt.Errorf("graph: input %d is not an Input", t.id)
		}
		p.inputs = append(p.inputs, t.id)
	}
	for _, t := range outs {
		b.nodes[t.id].isOutput = true
		p.outputs = append(p.outputs, t.id)
	}
	for _, n := range b.nodes {
		switch {
		case n.op != nil && n.slow:
			p.slowOps += n.op.P.FLOPs
		case n.op != nil:
			p.flops += n.op.P.FLOPs
		}
	}
	p.size = plan(b.nodes)
	return p, nil
}

// allocate creates the arena and binds the inputs to their slots.
func (p *Program) allocate() error {
	if a, b, ok := mapArena(p.size); ok {
		if p.mapped == nil {
			p.mapped = &mapping{}
			// A program dropped without Release or Close still unmaps.
			runtime.AddCleanup(p, (*mapping).free, p.mapped)
		}
		p.arena, p.mapped.b = a, b
	} else {
		p.arena = make([]float32, p.size)
	}
	p.slowValid = false
	for _, id := range p.inputs {
		n := p.b.nodes[id]
		v := tensor.New(tensor.WithShape(n.shape...), tensor.WithBacking(p.slot(id)))
		if err := gorgonia.Let(n.g, v); err != nil {
			return fmt.Errorf("graph: binding input %s: %w", n.scope, err)
		}
	}
	return nil
}

// Release gives up the arena but keeps the compiled graph; the next Run
// allocates it again. A mapped arena is kept for the next program that
// needs one (mapArena). Outputs returned earlier stay valid (they are
// copies).
func (p *Program) Release() {
	p.arena = nil
	if p.mapped != nil && p.mapped.b != nil {
		releaseArena(p.mapped.b)
		p.mapped.b = nil
	}
}

// mapping holds a mapped arena's memory.
type mapping struct{ b []byte }

// free unmaps the memory, once.
func (m *mapping) free() {
	if m.b != nil {
		unmap(m.b)
		m.b = nil
	}
}

func (p *Program) slot(id int) []float32 {
	n := p.b.nodes[id]
	return p.arena[n.off : n.off+numel(n.shape)]
}

// Run copies the inputs into place, runs the graph, and returns copies of
// the outputs, which outlive the arena.
func (p *Program) Run(inputs ...[]float32) ([][]float32, error) {
	if len(inputs) != len(p.inputs) {
		return nil, fmt.Errorf("graph: %d inputs given, the program takes %d", len(inputs), len(p.inputs))
	}
	if p.arena == nil {
		if err := p.allocate(); err != nil {
			return nil, err
		}
	}
	keep := p.slowValid
	for i, id := range p.inputs {
		dst := p.slot(id)
		if len(inputs[i]) != len(dst) {
			return nil, fmt.Errorf("graph: input %s has %d values, want %d (shape %v)", p.b.nodes[id].scope, len(inputs[i]), len(dst), p.b.nodes[id].shape)
		}
		if keep && p.b.nodes[id].slow && !sameBits(dst, inputs[i]) {
			keep = false
		}
		copy(dst, inputs[i])
	}
	defer p.vm.Reset()
	p.slowKept, p.slowValid = keep, false
	if err := p.vm.RunAll(); err != nil {
		return nil, fmt.Errorf("graph: %w", err)
	}
	p.slowValid = true
	out := make([][]float32, len(p.outputs))
	for i, id := range p.outputs {
		out[i] = slices.Clone(p.slot(id))
	}
	return out, nil
}

// ArenaBytes is the size of the activation arena.
func (p *Program) ArenaBytes() int64 { return int64(p.size) * 4 }

// FLOPs is the arithmetic of a run whose slow inputs repeat the previous
// run's (every run but the first of a denoising loop), counting a
// multiply-add as two.
func (p *Program) FLOPs() int64 { return p.flops }

// SlowFLOPs is the arithmetic a run adds when its slow inputs change (or
// on the first run): that of the ops computed from them alone.
func (p *Program) SlowFLOPs() int64 { return p.slowOps }

// sameBits reports whether a and b hold the same float32 bit patterns.
func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// Close releases the tape machine and the arena.
func (p *Program) Close() error {
	p.Release()
	if p.vm != nil {
		return p.vm.Close()
	}
	return nil
}
