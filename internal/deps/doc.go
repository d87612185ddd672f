// Package deps installs a dbt project's packages the way `dbt deps` does:
// it reads packages.yml (or dependencies.yml), resolves hub packages by
// version range through the hub's API, git packages at a revision and
// local and tarball packages, follows each package's own requirements, and
// lays the packages out in dbt_packages/<project name>/ with
// package-lock.yml next to packages.yml. The lock is dbt's format with
// dbt's sha1_hash, so a lock written by dbt is installed as it is, and the
// other way round.
//
// Where it differs from dbt-core, on purpose:
//   - A local package is copied, not symlinked: dbt_packages/ is then
//     complete on its own (it is assembled in a new folder and swapped in,
//     and the bot reads it as files), and readers that do not follow links
//     see the package. Build output (.git, target, logs, dbt_packages) is
//     not copied.
//   - Links inside packages are replaced by copies of the files they point
//     to inside the package; links to folders or outside are skipped with a
//     warning. Nothing installed is ever a link.
//   - Git packages are fetched shallowly at the revision and written with
//     `git archive`, so there is no .git folder in dbt_packages/.
//   - A failure leaves the previous dbt_packages/ and package-lock.yml as
//     they were (dbt deletes dbt_packages/ first).
//   - A cycle of requirements ends instead of looping.
//   - Private packages (`private:`) are refused with a message; the hub's
//     download sha1 is not checked (neither does dbt; GitHub's tarballs are
//     not byte-stable).
//
// Everything read is bounded (Limits); Options.Untrusted adds the rules
// for a pull request's files (see Options).
package deps
