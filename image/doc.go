// Package image tests the dataops container image the way its users run
// it: built from the Dockerfile, then started as the GitHub runner starts
// a container action (its docker run flags, mounts owned by the runner's
// uid, GITHUB_* and INPUT_* variables, file commands), as a GitLab CI job
// (entrypoint [""], the script fed to the image's shell, CI_* variables),
// and as the webhook bot (a data volume, a secret file, a signed delivery),
// each against the repository's GitHub and GitLab test doubles over the
// host network.
//
// The tests need a Docker daemon that builds with BuildKit. Without one
// they skip, loudly, unless CI is set, when they fail: .ci/run starts one.
package image
