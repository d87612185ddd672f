// Package project loads a dbt-style project and the packages dbt deps
// installed in its dbt_packages/, renders its templates with dbt's context
// on internal/jinja, and builds the Manifest: nodes with raw and compiled
// SQL, config, dependencies, the graph, and dbt-style selection.
//
// A compile renders each template the way dbt does: first to read its
// config() and references with execute false (dbt's parse), then, when the
// template read what only a compile knows (execute, config.get, a
// relation's schema, graph, a query), again with execute true once every
// node is configured and placed. Macros resolve as in dbt's macro
// namespace; adapter.dispatch follows dispatch: in dbt_project.yml; dbt's
// cross-database macros are dataops's own (dbtmacros/), written for DuckDB
// and PostgreSQL. Queries at compile time go through Warehouse, which the
// caller fills.
//
// Results are partial: Compile returns the Manifest of what compiled and
// lists in Manifest.Skipped every node that did not, or depends on one
// that did not, with the cause; each error names its node, so a pull
// request is blamed only for its own (see plan.Attribute).
//
// Where it differs from dbt on purpose: off the production target every
// node lives in the target's one schema (what makes a pull request's
// environment one schema to create and drop), the project's
// generate_schema_name and generate_database_name deciding only
// production's placement; two nodes that production keeps apart only by
// their custom schemas are named <schema>__<name> in that one schema.
// Python models are listed, not compiled.
package project
