import { NestFactory } from '@nestjs/core';
import { Module } from '@nestjs/common';
import { CoreModule, Foo } from '@steady/core';
@Module({ imports: [CoreModule] })
class AppModule { constructor(foo: Foo) { console.log('foo', foo.x); } }
async function main() { const app = await NestFactory.create(AppModule); await app.listen(0); console.log('up'); await app.close(); }
void main();
