import { Injectable, Module } from '@nestjs/common';
export { Injectable };
@Injectable()
export class Foo { x = 1; }
@Module({ providers: [Foo], exports: [Foo] })
export class CoreModule {}
