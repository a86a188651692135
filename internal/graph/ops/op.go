// Package ops adapts roentgen's float32 kernels to gorgonia: each Kernel is shape inference plus a call into internal/kernels, wrapped as a gorgonia Op.
package ops

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Kernel is the arithmetic of one kind of graph node.
type Kernel interface {
	Name() string
	// Plan checks the input shapes and returns the output shape and the
	// function that computes it, or an error naming the mismatch.
	Plan(in [][]int) (Plan, error)
}

// Plan is a kernel bound to its input shapes. Run writes the whole output,
// which aliases no input unless InPlace, and must not retain its arguments.
type Plan struct {
	Out []int
	Run func(out []float32, in [][]float32)
	// InPlace says that Run may be given its first input as the output
	// (same size): the planner then reuses that input's memory when this
	// op is its last use.
	InPlace bool
	FLOPs   int64 // multiply-adds count 2; for throughput reports
	// Label names the node in op timings (TimeOps); the kernel name when
	// empty.
	Label string
	// Shape gives the operand sizes, appended to the label when op timings
	// are split by shape.
	Shape string
}

// Op wraps a Kernel as a gorgonia.Op. Its output lives in a buffer that
// the owning program assigns before the first run (Out); gorgonia only
// passes views of it around, so the tape machine allocates nothing per step.
type Op struct {
	Name   string
	ID     int64 // unique per node: gorgonia merges nodes whose op hashes match
	P      Plan
	InDims []int
	Out    func() []float32
	// Keep, when set and true, means the output still holds this op's
	// result from an earlier run on the same inputs: Do skips the kernel.
	Keep func() bool
}

var _ gorgonia.Op = (*Op)(nil)

// Arity is the number of inputs.
func (o *Op) Arity() int { return len(o.InDims) }

// Type is Tensor a → ... → Tensor a over float32 tensors.
func (o *Op) Type() hm.Type {
	ts := make([]hm.Type, 0, len(o.InDims)+1)
	for _, d := range o.InDims {
		ts = append(ts, gorgonia.TensorType{Dims: d, Of: tensor.Float32})
	}
	ts = append(ts, gorgonia.TensorType{Dims: len(o.P.Out), Of: tensor.Float32})
	return hm.NewFnType(ts...)
}

// InferShape returns the shape computed when the node was built.
func (o *Op) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape(append([]int(nil), o.P.Out...)), nil
}

// Do runs the kernel into the node's planned buffer.
func (o *Op) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in := make([][]float32, len(vals))
	for i, v := range vals {
		d, ok := v.Data().([]float32)
		if !ok {
			return nil, fmt.Errorf("%s: input %d is %T, want []float32", o.Name, i, v.Data())
		}
		in[i] = d
	}
	out := o.Out()
	if o.Keep == nil || !o.Keep() {
		o.run(out, in)
	}
	return tensor.New(tensor.WithShape(o.P.Out...), tensor.WithBacking(out)), nil
}

// ReturnsPtr is false: the output is a fresh value (in the node's buffer).
func (o *Op) ReturnsPtr() bool { return false }

// CallsExtern is false: kernels are Go and Go assembly.
func (o *Op) CallsExtern() bool { return false }

// OverwritesInput is -1: inputs are never written.
func (o *Op) OverwritesInput() int { return -1 }

// WriteHash writes the kernel name and the node's unique id.
func (o *Op) WriteHash(h hash.Hash) { fmt.Fprintf(h, "%s#%d", o.Name, o.ID) }

// Hashcode is the FNV hash of WriteHash.
func (o *Op) Hashcode() uint32 {
	h := fnv.New32a()
	o.WriteHash(h)
	return h.Sum32()
}

func (o *Op) String() string { return fmt.Sprintf("%s#%d", o.Name, o.ID) }

// numel is the product of a shape.
func numel(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// badShapes is the error for inputs a kernel cannot take.
func badShapes(k Kernel, in [][]int, why string) error {
	return fmt.Errorf("%s: input shapes %v: %s", k.Name(), in, why)
}
