"""The import graph of cs_convnet and autograder: every module imports on its own, nothing imports in a circle,
and the learner package never imports the grader.

The graph comes from grimp, which reads every import statement of the
package's source, including those inside functions: an import moved into a
function to dodge a circular import still counts as an edge here.
"""

import subprocess
import sys
import textwrap

import grimp
import pytest

# Cycles that exist today and are not yet fixed, as sorted lists of modules
# (strongly connected components). A new cycle fails the test; so does a fixed
# one still listed here, so that the list only shrinks.
KNOWN_CS_CONVNET_CYCLES = []


def import_cycles(package):
    """The strongly connected components of ``package``'s import graph with more than one module.

    Tarjan's algorithm over grimp's graph; each component is a sorted list of
    module names, and the list of components is sorted too.
    """
    graph = grimp.build_graph(package, cache_dir=None)
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(module):
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while not component or component[-1] != module:
                component.append(stack.pop())
                on_stack.discard(component[-1])
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return sorted(cycles)


def _modules(package):
    # __main__ runs the command line when imported, so it is left out.
    return sorted(m for m in grimp.build_graph(package, cache_dir=None).modules if not m.endswith(".__main__"))


def test_has_cs_convnet_no_import_cycles_beyond_the_known_ones():
    """Does no module of cs_convnet reach itself through imports (top-level or inside functions)?"""
    assert import_cycles("cs_convnet") == KNOWN_CS_CONVNET_CYCLES


def test_has_autograder_no_import_cycles():
    """Does no module of autograder reach itself through imports (top-level or inside functions)?"""
    assert import_cycles("autograder") == []


def test_does_cs_convnet_never_import_autograder():
    """Does no module of the learner package import the grader (which learners never receive)?"""
    graph = grimp.build_graph("cs_convnet", "autograder", cache_dir=None)
    assert not graph.chain_exists(importer="cs_convnet", imported="autograder", as_packages=True)


@pytest.mark.parametrize("module", ["autograder.sandbox.package_guest", "autograder.sandbox.notebook_guest",
                                    "autograder.sandbox.cgroups"])
def test_does_a_standalone_sandbox_module_import_nothing_of_the_grader(module):
    """Does a module that runs alone (in the sandbox, in the learner's kernel, as a script) import no grader module?"""
    graph = grimp.build_graph("autograder", cache_dir=None)
    assert graph.find_modules_directly_imported_by(module) == set()


def test_is_the_spec_language_below_its_users():
    """Do convnet, summary and surgery import the spec language from netspec, which imports none of them?"""
    graph = grimp.build_graph("cs_convnet", cache_dir=None)
    users = {"cs_convnet.classifiers.convnet", "cs_convnet.summary", "cs_convnet.surgery"}
    assert users <= graph.find_modules_that_directly_import("cs_convnet.netspec")
    assert not graph.find_upstream_modules("cs_convnet.netspec") & users


def test_does_the_cycle_check_see_imports_inside_functions(tmp_path, monkeypatch):
    """Is a cycle hidden by an import inside a function found (so the check above means something)?"""
    package = tmp_path / "hidden_cycle"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from . import b\n")
    (package / "b.py").write_text(textwrap.dedent("""
        def late():
            from . import a
            return a
    """))
    (package / "c.py").write_text("from . import a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert import_cycles("hidden_cycle") == [["hidden_cycle.a", "hidden_cycle.b"]]


@pytest.mark.parametrize("module", _modules("cs_convnet") + _modules("autograder"))
def test_does_each_module_import_alone_in_a_fresh_interpreter(module):
    """Does importing this module first, with nothing else loaded, succeed (no order-dependent import)?"""
    run = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, f"import {module} failed:\n{run.stderr[-2000:]}"


SPEC_NAMES = ["SPEC_HELP", "Conv", "Pool", "FC", "ReLU", "BatchNorm", "Dropout", "WEIGHT_LAYERS", "SPATIAL_LAYERS",
              "Step", "check_input_dim", "check_pattern", "format_spec", "parse_spec", "plan"]


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_does_convnet_still_export_the_spec_language(name):
    """Does ``from cs_convnet.classifiers.convnet import <name>`` give netspec's object, as before the move?"""
    from cs_convnet import netspec
    from cs_convnet.classifiers import convnet

    assert getattr(convnet, name) is getattr(netspec, name)


@pytest.mark.parametrize("name", ["convert_layers", "convert_spec", "output_stride"])
def test_does_surgery_still_export_its_spec_functions(name):
    """Does ``from cs_convnet.surgery import <name>`` give netspec's function, as before the move?"""
    from cs_convnet import netspec, surgery

    assert getattr(surgery, name) is getattr(netspec, name)
