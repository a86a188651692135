package graph

// Cache holds a runner's program, compiled for the last input shape it
// saw. Runners embed it for Program, Release and Close.
type Cache struct{ prog *Program }

// Program returns the current program, or nil before the first compile.
func (c *Cache) Program() *Program { return c.prog }

// Replace installs a newly compiled program, closing the previous one.
func (c *Cache) Replace(p *Program) {
	c.Close()
	c.prog = p
}

// Release frees the program's activation arena until the next run; the
// compiled graph is kept.
func (c *Cache) Release() {
	if c.prog != nil {
		c.prog.Release()
	}
}

// Close frees the compiled program.
func (c *Cache) Close() error {
	if c.prog == nil {
		return nil
	}
	err := c.prog.Close()
	c.prog = nil
	return err
}
