//go:build !linux

package testenv

import "syscall"

// sysProcAttr returns nil: only Linux can tie a child's life to its parent's, so
// elsewhere a crashed test binary may leave a server running until it is killed.
func sysProcAttr() *syscall.SysProcAttr {
	return nil
}
