package weights

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Set is the weights of one model component, possibly spread over shard
// files. It records which tensors a model declared, so that loading is
// strict: Check reports missing tensors, wrong shapes and unused tensors.
type Set struct {
	files []*File
	where map[string]*File
	used  map[string]bool
	errs  []error

	record   bool // a recorder: declarations are listed, not checked
	declared []Info
}

// NewSet indexes the tensors of one or more files. A tensor name present in
// two files is an error.
func NewSet(files ...*File) (*Set, error) {
	s := &Set{files: files, where: map[string]*File{}, used: map[string]bool{}}
	for _, f := range files {
		for _, n := range f.Names() {
			if g, dup := s.where[n]; dup {
				return nil, fmt.Errorf("tensor %q is stored twice: in %s and in %s", n, g.Path, f.Path)
			}
			s.where[n] = f
		}
	}
	return s, nil
}

// Close unmaps every file of the set.
func (s *Set) Close() error {
	var errs []error
	for _, f := range s.files {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}

// Files returns the files of the set.
func (s *Set) Files() []*File { return s.files }

// Names returns every tensor name, sorted.
func (s *Set) Names() []string {
	names := make([]string, 0, len(s.where))
	for n := range s.where {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Info returns a tensor's header entry and file.
func (s *Set) Info(name string) (Info, *File, bool) {
	f, ok := s.where[name]
	if !ok {
		return Info{}, nil, false
	}
	in, _ := f.Info(name)
	return in, f, true
}

// Stats sums the elements and stored bytes of the floating-point tensors
// (the model parameters; integer buffers such as position_ids are not
// parameters) per dtype.
func (s *Set) Stats() (params int64, bytes map[DType]int64) {
	bytes = map[DType]int64{}
	for n, f := range s.where {
		in, _ := f.Info(n)
		if !in.DType.IsFloat() {
			continue
		}
		params += in.Numel()
		bytes[in.DType] += in.End - in.Begin
	}
	return params, bytes
}

// Check returns every error recorded while a model declared its tensors,
// plus one for each stored tensor that was not declared and whose name does
// not start with one of the ignored prefixes. The result is nil when the
// file and the model agree exactly.
func (s *Set) Check(ignore ...string) error {
	errs := slices.Clone(s.errs)
	var unused []string
	for _, n := range s.Names() {
		if s.used[n] || hasPrefix(n, ignore) {
			continue
		}
		unused = append(unused, n)
	}
	for _, n := range unused {
		errs = append(errs, fmt.Errorf("%s: unexpected tensor %q (not part of the model the config describes)", s.where[n].Path, n))
	}
	return joinLine(errs)
}

// joinLine combines errors into one line: the first in full, then a count
// and a few more, so that a badly mismatched file gives a readable message.
func joinLine(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	var more []string
	for _, e := range errs[1:min(len(errs), 4)] {
		more = append(more, e.Error())
	}
	if len(errs) > 4 {
		more = append(more, "...")
	}
	return fmt.Errorf("%w (and %d more problems: %s)", errs[0], len(errs)-1, strings.Join(more, "; "))
}

func hasPrefix(name string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// Scope is a position in the module tree, e.g. "down_blocks.1.attentions.0".
// Model constructors take a Scope and name only their local tensors.
type Scope struct {
	set    *Set
	prefix string
}

// Root returns the scope of the top-level module.
func (s *Set) Root() Scope { return Scope{set: s} }

// Sub descends into a child module.
func (s Scope) Sub(name string) Scope { return Scope{set: s.set, prefix: s.key(name)} }

// Index descends into element i of a module list.
func (s Scope) Index(i int) Scope { return s.Sub(strconv.Itoa(i)) }

// Path is the scope's full dotted prefix.
func (s Scope) Path() string { return s.prefix }

func (s Scope) key(name string) string {
	if s.prefix == "" {
		return name
	}
	return s.prefix + "." + name
}

// Has reports whether a tensor exists under the scope.
func (s Scope) Has(name string) bool {
	_, ok := s.set.where[s.key(name)]
	return ok
}

// Shape returns the stored shape of a tensor under the scope.
func (s Scope) Shape(name string) ([]int, bool) {
	in, _, ok := s.set.Info(s.key(name))
	return in.Shape, ok
}

// Tensor declares a tensor of the given shape. A missing tensor, a shape
// mismatch or a non-float dtype is recorded in the set (see Check) and the
// returned tensor then holds no data; construction carries on so that one
// load reports every problem.
func (s Scope) Tensor(name string, shape ...int) *Tensor {
	key := s.key(name)
	t := &Tensor{Name: key, Shape: shape}
	if s.set.record {
		s.set.declared = append(s.set.declared, Info{Name: key, DType: F32, Shape: slices.Clone(shape)})
		return t
	}
	in, f, ok := s.set.Info(key)
	if !ok {
		s.set.errs = append(s.set.errs, fmt.Errorf("%s: missing tensor %q (shape %v)", s.set.describe(), key, shape))
		return t
	}
	s.set.used[key] = true
	switch {
	case !slices.Equal(in.Shape, shape):
		s.set.errs = append(s.set.errs, fmt.Errorf("%s: tensor %q has shape %v, the config expects %v", f.Path, key, in.Shape, shape))
	case !in.DType.IsFloat():
		s.set.errs = append(s.set.errs, fmt.Errorf("%s: tensor %q has dtype %s; weights must be F32, F16 or BF16", f.Path, key, in.DType))
	default:
		t.DType = in.DType
		t.raw, _, _ = f.Bytes(key)
		t.file = f
	}
	return t
}

func (s *Set) describe() string {
	var paths []string
	for _, f := range s.files {
		paths = append(paths, f.Path)
	}
	return strings.Join(paths, ", ")
}

// Tensor is a declared weight whose bytes stay in the mapped file.
type Tensor struct {
	Name  string
	Shape []int
	DType DType
	raw   []byte
	file  *File
}

// Numel is the number of elements.
func (t *Tensor) Numel() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Float32 decodes the tensor into a new float32 slice.
func (t *Tensor) Float32() []float32 {
	out := make([]float32, t.Numel())
	decode(out, t.raw, t.DType)
	return out
}

// Raw returns the stored little-endian bytes (nil when the tensor failed
// to load).
func (t *Tensor) Raw() []byte { return t.raw }

// UsedBytes is the resident size of the declared tensors as the engine
// holds them: F32 and F16 are read in place from the mapping, BF16 is
// decoded to float32 (twice its stored size). Stored tensors that no model
// declared (a VAE's encoder) are never touched and not counted.
func (s *Set) UsedBytes() int64 {
	var n int64
	for name := range s.used {
		in, _, _ := s.Info(name)
		b := in.End - in.Begin
		if in.DType == BF16 {
			b *= 2
		}
		n += b
	}
	return n
}

// Release drops the set's mapped pages from the resident set (see
// File.Release), e.g. the U-Net's weights while the VAE decodes.
func (s *Set) Release() error {
	var errs []error
	for _, f := range s.files {
		errs = append(errs, f.Release())
	}
	return errors.Join(errs...)
}
