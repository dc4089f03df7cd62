"""Run by tests/test_bvh.py in a separate process: import a BVH file with Blender's own importer
(bpy, Blender as a Python module) and print, as JSON, what Blender made of it: the armature's
bones, the scene's frame range and the world positions of the bones' heads at some frames
(Blender's frame: Z up, metres)."""

import json
import sys

import bpy

path, frames = sys.argv[1], [int(f) for f in sys.argv[2].split(",")]
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.import_anim.bvh(filepath=path, global_scale=1.0, frame_start=1, use_fps_scale=False,
                        update_scene_fps=True, update_scene_duration=True, rotate_mode="NATIVE",
                        axis_forward="-Z", axis_up="Y")
arm = next(o for o in bpy.data.objects if o.type == "ARMATURE")
scene = bpy.context.scene
out = {"bones": [b.name for b in arm.data.bones], "frame_start": scene.frame_start, "frame_end": scene.frame_end,
       "fps": scene.render.fps / scene.render.fps_base, "heads": {}}
for f in frames:
    scene.frame_set(f)
    out["heads"][f] = {pb.name: list(arm.matrix_world @ pb.head) for pb in arm.pose.bones}
print("BLENDER_JSON " + json.dumps(out))
