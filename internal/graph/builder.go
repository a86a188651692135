// Package graph is roentgen's boundary with gorgonia: a Builder that records a network as a gorgonia ExprGraph of custom ops, and a Program that runs it with a static buffer plan.
package graph

import (
	"fmt"
	"slices"
	"strings"

	"github.com/roentgen-dev/roentgen/internal/graph/ops"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Tensor is a node of the graph being built.
type Tensor struct {
	b     *Builder
	id    int
	Shape []int
}

// node is the builder's record of one value: its gorgonia node, its size and
// the steps between which it must stay alive.
type node struct {
	g        *gorgonia.Node
	shape    []int
	op       *ops.Op // nil for inputs
	inputs   []int
	lastUse  int
	off      int // offset in the program's arena
	isOutput bool
	// slow marks a SlowInput and every op computed from slow nodes alone:
	// its value stays valid while the slow inputs repeat.
	slow  bool
	scope string
}

// Builder records a forward pass. Each method adds one op; a shape error
// panics with a buildError that Compile turns into an error naming the layer
// scope and the shapes, so Forward code has no error plumbing.
type Builder struct {
	g      *gorgonia.ExprGraph
	nodes  []*node
	scopes []string
	prog   *Program
}

// NewBuilder starts an empty graph.
func NewBuilder() *Builder {
	b := &Builder{g: gorgonia.NewGraph()}
	b.prog = &Program{b: b}
	return b
}

type buildError struct{ err error }

// Scope runs f with name pushed on the scope path shown in errors, e.g.
// "down_blocks.1.attentions.0".
func (b *Builder) Scope(name string, f func()) {
	b.scopes = append(b.scopes, name)
	defer func() { b.scopes = b.scopes[:len(b.scopes)-1] }()
	f()
}

func (b *Builder) scope() string { return strings.Join(b.scopes, ".") }

// Input declares a named float32 input of a fixed shape.
func (b *Builder) Input(name string, shape ...int) *Tensor {
	g := gorgonia.NewTensor(b.g, tensor.Float32, len(shape), gorgonia.WithShape(shape...), gorgonia.WithName(name))
	return b.add(&node{g: g, shape: slices.Clone(shape), scope: name})
}

// SlowInput is Input for a value that usually repeats from one run to the
// next, such as a prompt's encoding across the denoising steps. The ops
// computed from slow inputs alone (the cross-attention keys and values)
// keep their outputs for the whole run, and a later Run skips them while
// every slow input is bit for bit what it was: the same values, without
// the work.
func (b *Builder) SlowInput(name string, shape ...int) *Tensor {
	t := b.Input(name, shape...)
	b.nodes[t.id].slow = true
	return t
}

func (b *Builder) add(n *node) *Tensor {
	b.nodes = append(b.nodes, n)
	id := len(b.nodes) - 1
	n.lastUse = id
	return &Tensor{b: b, id: id, Shape: n.shape}
}

// Apply adds a node computing k from the inputs.
func (b *Builder) Apply(k ops.Kernel, in ...*Tensor) *Tensor {
	shapes := make([][]int, len(in))
	children := make([]*gorgonia.Node, len(in))
	dims := make([]int, len(in))
	ids := make([]int, len(in))
	for i, t := range in {
		n := b.nodes[t.id]
		shapes[i], children[i], dims[i], ids[i] = n.shape, n.g, len(n.shape), t.id
	}
	p, err := k.Plan(shapes)
	if err != nil {
		panic(buildError{fmt.Errorf("%s: %w", b.scope(), err)})
	}
	id := len(b.nodes)
	op := &ops.Op{Name: k.Name(), ID: int64(id), P: p, InDims: dims}
	size := numel(p.Out)
	op.Out = func() []float32 { off := b.nodes[id].off; return b.prog.arena[off : off+size] }
	slow := len(ids) > 0
	for _, c := range ids {
		slow = slow && b.nodes[c].slow
	}
	if slow {
		op.Keep = func() bool { return b.prog.slowKept }
	}
	g, err := gorgonia.ApplyOp(op, children...)
	if err != nil {
		panic(buildError{fmt.Errorf("%s: gorgonia: %w", b.scope(), err)})
	}
	for _, c := range ids {
		b.nodes[c].lastUse = id
	}
	return b.add(&node{g: g, shape: p.Out, op: op, inputs: ids, slow: slow, scope: b.scope()})
}

func numel(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}
