"""Render a BVH written by `ambipose lift/video --bvh` with Blender (bpy, the `blender` extra),
headless on the CPU (Cycles): the imported armature with a limb mesh on each bone, on a floor.

    .venv/bin/python scripts/blender_render.py out/clip.bvh out/clip_blender.png [--frame N]

Shows what a user sees after File > Import > Motion Capture (.bvh) in Blender. The README's
picture: `ambipose lift ../shared/data/wild2d/data_2d_custom_lol.npz --out lol.npz --bvh lol.bvh`,
then this script with `--frame 817` (the deepest squat).
"""

import argparse
import math

import bpy
from mathutils import Vector

ap = argparse.ArgumentParser()
ap.add_argument("bvh")
ap.add_argument("png")
ap.add_argument("--frame", type=int, default=1)
ap.add_argument("--size", type=int, nargs=2, default=(640, 400))
ap.add_argument("--samples", type=int, default=16)
args = ap.parse_args()

bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.import_anim.bvh(filepath=args.bvh, global_scale=1.0, frame_start=1, use_fps_scale=False,
                        update_scene_fps=True, update_scene_duration=True, axis_forward="-Z", axis_up="Y")
arm = next(o for o in bpy.data.objects if o.type == "ARMATURE")
scene = bpy.context.scene
scene.frame_set(args.frame)


def material(name, rgb):
    m = bpy.data.materials.new(name)
    m.use_nodes = True
    m.node_tree.nodes["Principled BSDF"].inputs["Base Color"].default_value = (*rgb, 1.0)
    return m


side = {"Left": material("left", (0.12, 0.37, 0.84)), "Right": material("right", (0.84, 0.15, 0.16))}
centre = material("centre", (0.25, 0.25, 0.25))
for bone in arm.data.bones:  # a tapered limb on every bone, moving with it
    length = bone.length
    if length < 1e-4:
        continue
    bpy.ops.mesh.primitive_cone_add(vertices=12, radius1=0.035, radius2=0.022, depth=length)
    limb = bpy.context.object
    limb.data.materials.append(next((m for prefix, m in side.items() if bone.name.startswith(prefix)), centre))
    limb.parent, limb.parent_type, limb.parent_bone = arm, "BONE", bone.name
    # parented to a bone, an object sits at the bone's tail, with the bone's Y axis along it
    limb.matrix_parent_inverse.identity()
    limb.location = (0.0, -length / 2, 0.0)
    limb.rotation_euler = (-math.pi / 2, 0.0, 0.0)

bpy.ops.mesh.primitive_plane_add(size=8.0)
floor = bpy.context.object
floor.data.materials.append(material("floor", (0.8, 0.8, 0.78)))
hips = arm.matrix_world @ arm.pose.bones["Hips"].head
floor.location = (hips.x, hips.y, 0.0)

target = Vector((hips.x, hips.y, 0.75))
bpy.ops.object.camera_add(location=target + Vector((2.9, -4.0, 0.9)))
cam = bpy.context.object
cam.rotation_euler = (target - cam.location).to_track_quat("-Z", "Y").to_euler()
cam.data.lens = 55
scene.camera = cam
bpy.ops.object.light_add(type="SUN", rotation=(0.6, 0.3, 0.8))
bpy.context.object.data.energy = 3.0
scene.world = bpy.data.worlds.new("sky")
scene.world.color = (0.9, 0.9, 0.92)

scene.render.engine = "CYCLES"
scene.cycles.device = "CPU"
scene.cycles.samples = args.samples
scene.render.resolution_x, scene.render.resolution_y = args.size
scene.render.filepath = args.png
bpy.ops.render.render(write_still=True)
print(f"wrote {args.png}")
