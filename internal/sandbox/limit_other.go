//go:build !linux

package sandbox

// limitAddressSpace has no portable way to count what is mapped outside
// Linux; the runtime's soft memory limit (set by the caller) remains.
func limitAddressSpace(memory int64) error { return nil }
