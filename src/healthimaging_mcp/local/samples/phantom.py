"""A synthetic chest/abdomen CT phantom: Hounsfield-unit slices that look anatomical and vary along z.

Coordinates are patient (LPS) millimetres: x grows to the patient's left (image right), y grows posterior
(image down), z grows superior. Slice 0 is the most superior (thoracic inlet); the anatomy is laid out
along a reference length of 320 mm, so a short series (few slices) still sweeps chest → upper abdomen.
`ct_image_attributes` and `ct_slice` wrap the slices in CT Image Storage datasets.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

__all__ = [
    "HU_AIR",
    "LANDMARKS_MM",
    "REFERENCE_LENGTH_MM",
    "ChestPhantom",
    "PhantomGeometry",
    "ct_image_attributes",
    "ct_slice",
]

HU_AIR = -1000.0
REFERENCE_LENGTH_MM = 320.0
BODY_CENTER_Y = -15.0
NOISE_SIGMA_HU = 8.0

# Points (x, y) in mm that lie inside one structure for the anatomical depth range given (depth in mm
# from the top of the reference length). Tests and demos probe the phantom here.
LANDMARKS_MM: dict[str, tuple[float, float, float, float]] = {
    # name: (x, y, first depth, last depth)
    "right_lung": (-95.0, -20.0, 100.0, 180.0),
    "left_lung": (100.0, -20.0, 100.0, 180.0),
    "descending_aorta": (26.0, 10.0, 70.0, 230.0),
    "lamina": (0.0, 65.0, 0.0, 320.0),
    "liver": (-70.0, -20.0, 265.0, 320.0),
    "outside_body": (-185.0, -185.0, 0.0, 320.0),
}


def _smoothstep(edge0: float, edge1: float, value: float) -> float:
    """0 below edge0, 1 above edge1, a smooth ramp between."""
    t = min(max((value - edge0) / (edge1 - edge0), 0.0), 1.0)
    return t * t * (3.0 - 2.0 * t)


@dataclass(frozen=True)
class PhantomGeometry:
    """Where the slices sit in patient space."""

    n_slices: int = 128
    size: int = 512
    pixel_spacing: float = 0.78125
    slice_thickness: float = 2.5
    top_z: float = -30.0

    @property
    def origin(self) -> float:
        """x (and y) of the centre of the first pixel, so the field of view is centred on 0."""
        return -(self.size - 1) / 2.0 * self.pixel_spacing

    def z_of(self, index: int) -> float:
        """Table position of slice `index` (moving inferior, so z decreases)."""
        return self.top_z - index * self.slice_thickness

    def depth_of(self, index: int) -> float:
        """Anatomical depth (mm along the reference length) shown by slice `index`."""
        if self.n_slices <= 1:
            return REFERENCE_LENGTH_MM / 2.0
        return index / (self.n_slices - 1) * REFERENCE_LENGTH_MM


class ChestPhantom:
    """Renders slices of the phantom in HU; all heavy grids are precomputed once."""

    def __init__(self, geometry: PhantomGeometry | None = None, *, seed: int = 0) -> None:
        self.geometry = geometry or PhantomGeometry()
        self.seed = seed
        g = self.geometry
        self._xs = (g.origin + np.arange(g.size) * g.pixel_spacing).astype(np.float32)
        self._ys = self._xs.copy()
        dy = self._ys[:, None] - np.float32(BODY_CENTER_Y)
        self._theta = np.abs(np.arctan2(self._xs[None, :], dy)).astype(np.float32)  # 0 = posterior midline
        self._dy2 = (dy * dy).astype(np.float32)
        self._x2 = (self._xs * self._xs)[None, :].astype(np.float32)
        rng = np.random.default_rng([seed, 7])
        self._noise = rng.standard_normal((2 * g.size, 2 * g.size), dtype=np.float32) * np.float32(NOISE_SIGMA_HU)
        self._vessels = self._make_vessels(rng)
        self._table = self._make_table()

    # -- public -------------------------------------------------------------------------------------

    def hu_slice(self, index: int) -> np.ndarray:
        """Slice `index` in HU as float32 (noise and partial-volume blur included)."""
        depth = self.geometry.depth_of(index)
        img = np.full((self.geometry.size, self.geometry.size), HU_AIR, dtype=np.float32)
        np.copyto(img, self._table[1], where=self._table[0])
        self._draw_body(img, depth)
        self._draw_thorax(img, depth)
        self._draw_abdomen(img, depth)
        self._draw_spine(img, depth)
        self._draw_ribs(img, depth)
        img = self._blur(img)
        rng = np.random.default_rng([self.seed, index])
        oy, ox = (int(v) for v in rng.integers(0, self.geometry.size, size=2))
        img += self._noise[oy : oy + self.geometry.size, ox : ox + self.geometry.size]
        return img

    def stored_slice(self, index: int, *, intercept: float = -1024.0) -> np.ndarray:
        """Slice `index` as signed 16-bit stored values (HU = stored + intercept)."""
        hu = self.hu_slice(index)
        np.clip(hu, -1024.0, 3071.0, out=hu)
        return np.rint(hu - intercept).astype(np.int16)

    # -- drawing helpers -------------------------------------------------------------------------------

    def _ellipse(self, cx: float, cy: float, a: float, b: float) -> tuple[slice, slice, np.ndarray]:
        """Row/column window and boolean mask of the ellipse inside that window."""
        g = self.geometry
        c0 = max(int((cx - a - g.origin) / g.pixel_spacing), 0)
        c1 = min(int((cx + a - g.origin) / g.pixel_spacing) + 2, g.size)
        r0 = max(int((cy - b - g.origin) / g.pixel_spacing), 0)
        r1 = min(int((cy + b - g.origin) / g.pixel_spacing) + 2, g.size)
        ex = ((self._xs[c0:c1] - cx) / a) ** 2
        ey = ((self._ys[r0:r1] - cy) / b) ** 2
        return slice(r0, r1), slice(c0, c1), (ey[:, None] + ex[None, :]) <= 1.0

    def _fill(
        self, img: np.ndarray, cx: float, cy: float, a: float, b: float, hu: float, *, only_below: float = 0.0
    ) -> None:
        """Paint an ellipse; with `only_below` set, only over pixels darker than that HU (e.g. lung)."""
        if a <= 0.3 or b <= 0.3:
            return
        rows, cols, mask = self._ellipse(cx, cy, a, b)
        window = img[rows, cols]
        if only_below:
            mask &= window < only_below
        window[mask] = hu

    def _circle(self, img: np.ndarray, cx: float, cy: float, r: float, hu: float) -> None:
        self._fill(img, cx, cy, r, r, hu)

    @staticmethod
    def _blur(img: np.ndarray) -> np.ndarray:
        """A [1, 2, 1] binomial blur in both directions: softens edges like a reconstruction kernel."""
        out = img.copy()
        out[1:-1, :] = 0.5 * img[1:-1, :] + 0.25 * (img[:-2, :] + img[2:, :])
        tmp = out.copy()
        out[:, 1:-1] = 0.5 * tmp[:, 1:-1] + 0.25 * (tmp[:, :-2] + tmp[:, 2:])
        return out

    # -- fixed structures ------------------------------------------------------------------------------

    def _make_table(self) -> tuple[np.ndarray, np.ndarray]:
        """Mask and HU of the curved carbon-fibre table (top sheet, foam core, bottom sheet)."""
        top = 105.0 - self._xs[None, :] ** 2 / 4000.0
        depth = self._ys[:, None] - top
        hu = np.where((depth < 3.0) | ((depth > 23.0) & (depth < 26.0)), 300.0, -800.0).astype(np.float32)
        return (depth >= 0.0) & (depth < 26.0), hu

    def _make_vessels(self, rng: np.random.Generator) -> np.ndarray:
        """Per lung vessel: unit-disc position, drift, radius and the depth where it ends."""
        n = 90
        radius = np.sqrt(rng.uniform(0.05, 0.85, n))
        angle = rng.uniform(0.0, 2.0 * math.pi, n)
        drift = rng.uniform(-0.004, 0.004, n)
        size = rng.uniform(0.8, 2.0, n) + 2.5 * (1.0 - radius) ** 2  # larger towards the hilum
        end = rng.uniform(150.0, 265.0, n)
        return np.stack([radius, angle, drift, size, end], axis=1)

    # -- anatomy -----------------------------------------------------------------------------------------

    def _body_axes(self, depth: float) -> tuple[float, float]:
        a = 145.0 + 20.0 * _smoothstep(0.0, 80.0, depth)
        b = 106.0 + 12.0 * _smoothstep(0.0, 80.0, depth)
        return a, b

    def _draw_body(self, img: np.ndarray, depth: float) -> None:
        a, b = self._body_axes(depth)
        fat = 12.0 + 3.0 * _smoothstep(200.0, 300.0, depth)
        self._fill(img, 0.0, BODY_CENTER_Y, a, b, 10.0)  # skin
        self._fill(img, 0.0, BODY_CENTER_Y, a - 2.0, b - 2.0, -100.0)  # subcutaneous fat
        self._fill(img, 0.0, BODY_CENTER_Y, a - fat, b - fat, 40.0)  # muscle and soft tissue

    def _draw_thorax(self, img: np.ndarray, depth: float) -> None:
        grow = _smoothstep(5.0, 90.0, depth)
        for side, base_end in ((-1.0, 190.0), (1.0, 205.0)):
            p = grow * (1.0 - _smoothstep(base_end, base_end + 58.0, depth))
            if p <= 0.0:
                continue
            cx, cy, a, b = side * 75.0, -14.0, 52.0 * math.sqrt(p), 78.0 * math.sqrt(p)
            rows, cols, mask = self._ellipse(cx, cy, a, b)
            gradient = -850.0 + 0.3 * (self._ys[rows] - cy)  # dependent lung is a little denser
            img[rows, cols] = np.where(mask, gradient[:, None], img[rows, cols])
            self._draw_vessels(img, depth, cx, cy, a, b)
        if depth < 118.0:  # trachea, then the two main bronchi below the carina
            self._circle(img, 0.0, -15.0, 9.0, HU_AIR)
        elif depth < 135.0:
            for side in (-1.0, 1.0):
                self._circle(img, side * 16.0, -8.0, 6.0, HU_AIR)
        heart = _smoothstep(120.0, 150.0, depth) * (1.0 - _smoothstep(205.0, 240.0, depth))
        if heart > 0.0:
            self._fill(img, 18.0, -42.0, 62.0 * heart + 4.0, 44.0 * heart + 4.0, -90.0)  # pericardial fat
            self._fill(img, 18.0, -42.0, 62.0 * heart, 44.0 * heart, 40.0)
        if 62.0 <= depth < 80.0:  # aortic arch
            self._fill(img, 14.0, -14.0, 14.0, 30.0, 250.0)
        elif 80.0 <= depth < 140.0:  # ascending aorta and superior vena cava
            self._circle(img, 2.0, -38.0, 15.0, 250.0)
            self._circle(img, -26.0, -36.0, 10.0, 320.0)
        if 40.0 <= depth < 200.0:  # sternum: cortex around cancellous bone
            front = BODY_CENTER_Y - self._body_axes(depth)[1] + 24.0
            self._fill(img, 0.0, front, 16.0, 7.0, 700.0)
            self._fill(img, 0.0, front, 13.0, 4.5, 320.0)

    def _draw_vessels(self, img: np.ndarray, depth: float, cx: float, cy: float, a: float, b: float) -> None:
        taper = 1.0 - 0.6 * depth / 265.0
        shown = len(self._vessels) * min(a / 52.0, 1.0)  # fewer vessels in a small apex
        for k, (radius, angle, drift, size, end) in enumerate(self._vessels):
            r = size * taper
            if k >= shown or depth > end or r < 0.6:
                continue
            phi = angle + drift * depth
            vx, vy = cx + radius * a * math.cos(phi), cy + radius * b * math.sin(phi)
            self._fill(img, vx, vy, r, r, 120.0, only_below=-500.0)

    def _draw_abdomen(self, img: np.ndarray, depth: float) -> None:
        liver = _smoothstep(185.0, 255.0, depth)
        if liver > 0.0:
            self._fill(img, -58.0, -5.0, 30.0 + 55.0 * liver, 25.0 + 55.0 * liver, 60.0)
            if depth > 215.0:
                for vx, vy in ((-40.0, -10.0), (-75.0, 20.0), (-55.0, 40.0), (-90.0, -25.0)):
                    self._circle(img, vx, vy, 4.0, 150.0)
        if depth > 150.0:  # inferior vena cava
            self._circle(img, -22.0, 0.0, 11.0, 130.0)
        stomach = _smoothstep(215.0, 250.0, depth)
        if stomach > 0.0:
            cx, cy, a, b = 50.0, -30.0, 38.0 * stomach, 30.0 * stomach
            self._fill(img, cx, cy, a, b, 20.0)
            rows, cols, mask = self._ellipse(cx, cy, a, b)
            mask &= (self._ys[rows] < cy - 0.3 * b)[:, None]  # air-fluid level: gas rises anterior
            img[rows, cols][mask] = HU_AIR
        spleen = _smoothstep(225.0, 260.0, depth)
        if spleen > 0.0:
            self._fill(img, 95.0, 35.0, 22.0 * spleen, 40.0 * spleen, 50.0)
        kidney = _smoothstep(270.0, 300.0, depth)
        if kidney > 0.0:
            for side in (-1.0, 1.0):
                self._fill(img, side * 65.0, 45.0, 20.0 * kidney, 30.0 * kidney, 170.0)
                self._fill(img, side * 55.0, 45.0, 7.0 * kidney, 12.0 * kidney, -80.0)  # sinus fat
        if depth > 280.0:  # bowel gas
            self._circle(img, 15.0, -95.0, 10.0, HU_AIR)
            self._circle(img, 60.0, -85.0, 12.0, HU_AIR)

    def _draw_spine(self, img: np.ndarray, depth: float) -> None:
        for side in (-1.0, 1.0):  # paraspinal muscles, a little denser than the rest
            self._fill(img, side * 30.0, 72.0, 22.0, 14.0, 55.0)
        if depth >= 62.0:
            t = _smoothstep(230.0, 270.0, depth)
            self._circle(img, 26.0 - 18.0 * t, 10.0 - 18.0 * t, 12.0, 250.0)  # descending aorta
        body_r = 18.0 + 4.0 * _smoothstep(150.0, 300.0, depth)
        phase = (depth / 28.0) % 1.0
        if phase < 0.18:  # intervertebral disc
            self._circle(img, 0.0, 26.0, body_r, 90.0)
        else:
            self._circle(img, 0.0, 26.0, body_r, 1000.0)
            self._circle(img, 0.0, 26.0, body_r - 3.0, 300.0)
        canal_y = 54.0
        if 0.35 < phase < 0.75:  # transverse processes
            for side in (-1.0, 1.0):
                self._fill(img, side * 26.0, canal_y - 2.0, 15.0, 5.0, 900.0)
        self._fill(img, 0.0, canal_y + 17.0, 5.0, 9.0, 900.0)  # spinous process
        self._circle(img, 0.0, canal_y, 13.5, 1000.0)  # pedicles and laminae
        self._circle(img, 0.0, canal_y, 8.5, 15.0)  # spinal canal

    def _draw_ribs(self, img: np.ndarray, depth: float) -> None:
        if not 10.0 <= depth <= 275.0:
            return
        a, b = self._body_axes(depth)
        a_in, b_in = a - 20.0, b - 20.0
        rows, cols, _ = self._ellipse(0.0, BODY_CENTER_Y, a_in, b_in)
        rho = self._x2[:, cols] / (a_in * a_in) + self._dy2[rows] / (b_in * b_in)
        theta = self._theta[rows, cols]
        ring = (rho > 0.93**2) & (rho < 1.0)
        phase = ((depth + 55.0 * theta) / 26.0) % 1.0
        on_rib = ring & (phase < 0.35) & (theta > 0.45)
        window = img[rows, cols]
        front = 2.55 - 1.1 * _smoothstep(200.0, 290.0, depth)  # lower ribs only wrap the flanks
        window[on_rib & (theta < front)] = 750.0
        window[on_rib & (theta >= front) & (theta < front + 0.35)] = 150.0  # costal cartilage


# -- DICOM -------------------------------------------------------------------------------------------------


def ct_image_attributes(ds: Dataset, geometry: PhantomGeometry) -> Dataset:
    """Add the series-constant equipment, acquisition and image-pixel attributes of a phantom CT to `ds`."""
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.Modality = "CT"
    ds.Manufacturer = "HEALTHIMAGING-MCP"
    ds.ManufacturerModelName = "PHANTOM CT"
    ds.StationName = "DEMOCT01"
    ds.SoftwareVersions = "1.0"
    ds.PositionReferenceIndicator = ""
    ds.BodyPartExamined = "CHEST"
    ds.ProtocolName = "CHEST ROUTINE W CONTRAST"
    ds.ContrastBolusAgent = "IOHEXOL 350"
    ds.PatientPosition = "HFS"
    ds.ScanOptions = "HELICAL MODE"
    ds.KVP = "120"
    ds.XRayTubeCurrent = 220
    ds.ExposureTime = 500
    ds.ConvolutionKernel = "STANDARD"
    ds.ReconstructionDiameter = _decimal(geometry.size * geometry.pixel_spacing)
    ds.GantryDetectorTilt = "0"
    ds.AcquisitionNumber = 1
    ds.SliceThickness = ds.SpacingBetweenSlices = _decimal(geometry.slice_thickness)
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.PixelSpacing = [_decimal(geometry.pixel_spacing)] * 2
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = ds.Columns = geometry.size
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.WindowCenter = ["40", "-600"]
    ds.WindowWidth = ["400", "1500"]
    ds.WindowCenterWidthExplanation = ["MEDIASTINUM", "LUNG"]
    ds.RescaleIntercept = "-1024"
    ds.RescaleSlope = "1"
    ds.RescaleType = "HU"
    return ds


def _decimal(value: float) -> str:
    """A DS string with up to 6 decimals and no trailing zeros: -199.609375, -30."""
    return f"{value:.6f}".rstrip("0").rstrip(".")


def _time_after(start: str, seconds: float) -> str:
    """DICOM TM `seconds` after the HHMMSS time `start`."""
    total = int(start[:2]) * 3600 + int(start[2:4]) * 60 + int(start[4:6]) + seconds
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{int(hours) % 24:02d}{int(minutes):02d}{secs:09.6f}"


def ct_slice(
    template: Dataset, geometry: PhantomGeometry, index: int, stored: np.ndarray, sop_instance_uid: str
) -> Dataset:
    """A copy of the series `template` as slice `index`: numbering, position, content time, pixel data."""
    ds = Dataset()
    for element in template:  # shallow element copies: values are immutable except multi-values
        clone = copy.copy(element)
        if isinstance(element.value, MultiValue):
            clone.value = list(element.value)
        ds.add(clone)
    z = geometry.z_of(index)
    ds.SOPInstanceUID = sop_instance_uid
    ds.InstanceNumber = index + 1
    ds.ContentTime = _time_after(str(template.get("StudyTime") or "000000"), 120.0 + 0.4 * index)
    ds.ImagePositionPatient = [_decimal(geometry.origin), _decimal(geometry.origin), _decimal(z)]
    ds.SliceLocation = _decimal(z)
    ds.add_new(0x7FE00010, "OW", stored.astype("<i2").tobytes())
    return ds
