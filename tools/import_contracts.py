"""An import-linter contract the built-in ones cannot express: an allowlist of outside imports.

A `forbidden` contract names what may not be imported, so anything nobody thought to list gets
through. `allowlist` turns that round: the source packages may import the standard library, bar
the modules named in `forbidden_stdlib`, and the third-party packages named in
`allowed_external`; any other outside import breaks the contract. Imports inside the project are
left to the layers contract.

`lint-imports` finds this module because it runs from the repository root, which it puts on
`sys.path`; pyproject.toml registers it under `contract_types`.
"""

from __future__ import annotations

import sys
from typing import cast

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, fields, output


class AllowlistContract(Contract):
    type_name = "allowlist"

    source_modules = fields.ListField(subfield=fields.ModuleField())
    allowed_external = fields.ListField(subfield=fields.StringField())
    forbidden_stdlib = fields.ListField(subfield=fields.StringField(), required=False)

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        options = self.session_options
        root = options.get("root_packages") or [options["root_package"]]
        # import-linter declares the options as field objects; an instance holds their values.
        allowed = set(cast("list[str]", self.allowed_external))
        forbidden = set(cast("list[str] | None", self.forbidden_stdlib) or [])
        broken = []
        for source in self.source_modules:  # type: ignore[attr-defined]
            modules = {source.name} | graph.find_descendants(source.name)
            for importer in sorted(modules):
                for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                    top = imported.split(".")[0]
                    if top in root:
                        continue
                    if top in forbidden or not (top in sys.stdlib_module_names or top in allowed):
                        details = graph.get_import_details(importer=importer, imported=imported)
                        lines = sorted({detail["line_number"] for detail in details})
                        broken.append((importer, imported, lines))
        return ContractCheck(kept=not broken, metadata={"broken": broken})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for importer, imported, lines in check.metadata["broken"]:
            where = ", ".join(f"l.{line}" for line in lines)
            output.print_error(f"{importer} is not allowed to import {imported} ({where})")
            output.new_line()
