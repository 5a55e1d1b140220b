"""Pictures of molecules: RDKit 2D SVG and a 3D conformer (ETKDGv3 + MMFF94) as a molblock. Pure, no streamlit."""
from __future__ import annotations

from typing import Any

from rdkit import Chem
from rdkit.Chem import AllChem
from rdkit.Chem.Draw import rdMolDraw2D

from .chem import Mol, without_rdkit_log

MMFF_MAX_ITERS = 500  # enough for fragrance-sized molecules (< 40 heavy atoms) to converge


def mol_svg(mol: Mol, width: int = 260, height: int = 200) -> str:
    """Returns an SVG string (no XML header) of the 2D depiction of `mol`, transparent background."""
    drawer = rdMolDraw2D.MolDraw2DSVG(width, height)
    opts: Any = drawer.drawOptions()  # rdkit-stubs type it as MolDrawOptions without its settable fields
    opts.clearBackground = False
    opts.addStereoAnnotation = True
    with without_rdkit_log():
        rdMolDraw2D.PrepareAndDrawMolecule(drawer, Chem.Mol(mol))
    drawer.FinishDrawing()
    svg = drawer.GetDrawingText()
    return svg[svg.find("<svg"):]  # drop the <?xml ...?> line so the SVG can be inlined in HTML


def conformer_molblock(mol: Mol, seed: int = 0) -> str | None:
    """Returns a molblock with explicit hydrogens and one 3D conformer (ETKDGv3, then MMFF94 minimised).

    Returns None when RDKit cannot embed the molecule (rare; e.g. strained cages). When MMFF has no
    parameters for an atom the ETKDG geometry is returned unminimised. `seed` makes the result
    reproducible.
    """
    molh = Chem.AddHs(Chem.Mol(mol))
    params = AllChem.ETKDGv3()  # type: ignore[attr-defined]  # rdkit-stubs lack it
    params.randomSeed = seed
    with without_rdkit_log():
        if AllChem.EmbedMolecule(molh, params) != 0:  # type: ignore[attr-defined]  # rdkit-stubs lack it
            params.useRandomCoords = True  # the documented retry for molecules the default embedding misses
            if AllChem.EmbedMolecule(molh, params) != 0:  # type: ignore[attr-defined]  # rdkit-stubs lack it
                return None
        if AllChem.MMFFHasAllMoleculeParams(molh):  # type: ignore[attr-defined]  # rdkit-stubs lack it
            AllChem.MMFFOptimizeMolecule(molh, maxIters=MMFF_MAX_ITERS)  # type: ignore[attr-defined]  # rdkit-stubs lack it
        return Chem.MolToMolBlock(molh)
