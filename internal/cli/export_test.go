package cli

// MainWithScryptWorkFactor is Main for kr's own tests: vaults and
// identities are created at scrypt work factor logN (0: kr's default).
// Tests whose subject is not the KDF run kr this way, so that a busy
// machine spends its seconds on what they test. Being in a _test.go file,
// it exists only in test binaries: kr itself has no flag or variable that
// lowers the work factor.
func MainWithScryptWorkFactor(logN int) int {
	app := NewApp()
	app.scryptWorkFactor = logN
	return runMain(app)
}
